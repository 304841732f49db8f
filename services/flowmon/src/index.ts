export { startFlowmon, type FlowmonOptions } from './flowmon.js';
export { buildFlowmonConfig, defaultFlowmonConfig, loadFlowmonConfig, FLOWMON_SECTION, type FlowmonConfig, type Floors } from './config/flowmon-config.js';
export { parseServicePorts, DEFAULT_SERVICE_PORTS, type ServicePort } from './config/service-ports.js';
export { parseSnmp, parseSnmp6, ratesBetween } from './proc/snmp.js';
