import { parseArgs } from 'node:util';
import { connectBus, ensureStreams } from './bus.js';
import { systemClock } from './clock.js';
import { loadConfig } from './config/index.js';
import { describeError } from './errors.js';
import { createLogger } from './logger.js';
import { DEFAULT_CONFIG_DIR, DEFAULT_STATE_DIR, resolveEndpoints } from './runtime.js';
import type { ServiceContext } from './service-context.js';
import { startTracing } from './tracing.js';

export interface Bootstrapped {
  ctx: ServiceContext;
  redisUrl: string;
  close(): Promise<void>;
}

const USAGE = (name: string) => `usage: ${name} [--config DIR] [--state DIR]

Runs the Portcullis ${name} service on its own. NATS and Redis URLs come from the config
directory's portcullis.local ([portcullis] nats_url, redis_url), or from the stack that
"portcullis up" runs for the same state directory.

  --config DIR   configuration directory (default ${DEFAULT_CONFIG_DIR})
  --state DIR    state directory (default ${DEFAULT_STATE_DIR})
`;

/**
 * The common first steps of every service's main.ts: arguments, config (validated once, frozen),
 * logger, tracing SDK, bus. A config error exits with status 2 and the file:line reason.
 */
export async function bootstrapService(name: string, argv: string[]): Promise<Bootstrapped> {
  let values: { config?: string; state?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, state: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    process.stderr.write(`${describeError(e)}\n${USAGE(name)}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE(name));
    process.exit(0);
  }
  const configDir = values.config ?? DEFAULT_CONFIG_DIR;
  const stateDir = values.state ?? DEFAULT_STATE_DIR;
  let config;
  try {
    config = loadConfig(configDir);
  } catch (e) {
    process.stderr.write(`portcullis ${name}: ${describeError(e)}\n`);
    process.exit(2);
  }
  const log = createLogger({ service: name, host: config.settings.host, level: config.settings.logLevel });
  const tracing = startTracing({ serviceName: `portcullis-${name}`, host: config.settings.host, otlpEndpoint: config.settings.otlpEndpoint });
  const endpoints = resolveEndpoints(config.settings, stateDir);
  const bus = await connectBus({ url: endpoints.natsUrl, name: `${name}@${config.settings.host}`, log });
  await ensureStreams(bus);
  return {
    ctx: { config, bus, log, clock: systemClock, stateDir },
    redisUrl: endpoints.redisUrl,
    close: async () => {
      await bus.close();
      await tracing.shutdown();
    },
  };
}
