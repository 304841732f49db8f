import type { SourceFactory } from '../source.js';
import { createSyslogSource, type SyslogSourceOptions } from './syslog-source.js';

export { createSyslogSource, SyslogSource, type BoundAddress, type SyslogListen, type SyslogSourceOptions, type SyslogStats } from './syslog-source.js';
export { syslogConfig, parseListen, type SyslogConfig } from './config.js';
export { parseSyslog } from './parse.js';
export type { SyslogMessage } from './syslog-message.js';
export type { SyslogRoute } from './routes.js';

export const syslogSourceFactory: SourceFactory<SyslogSourceOptions> = createSyslogSource;
