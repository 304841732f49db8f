import type { Bus } from './bus.js';
import type { Clock } from './clock.js';
import type { PortcullisConfig } from './config/types.js';
import type { Logger } from './logger.js';

/** What every service is started with; each main.ts builds it explicitly. */
export interface ServiceContext {
  config: PortcullisConfig;
  bus: Bus;
  log: Logger;
  clock: Clock;
  stateDir: string;
}
