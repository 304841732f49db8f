export { startFlowmon, type FlowmonOptions } from './flowmon.js';
export { parseSnmp, ratesBetween } from './snmp.js';
