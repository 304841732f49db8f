import { join } from 'node:path';
import { startBanner } from '@portcullis/banner';
import { startCollector } from '@portcullis/collector';
import { startFlowmon } from '@portcullis/flowmon';
import { startMatcher } from '@portcullis/matcher';
import { startNotifier } from '@portcullis/notifier';
import {
  connectBus,
  connectRedis,
  createLogger,
  describeError,
  ensureStreams,
  PortcullisError,
  reapStaleStack,
  startNatsServer,
  startRedisServer,
  startTracing,
  systemClock,
  writeRuntimeInfo,
  type LocalServer,
  type Logger,
  type PortcullisConfig,
  type Service,
} from '@portcullis/shared';
import { rmSync } from 'node:fs';

export interface StackOptions {
  config: PortcullisConfig;
  stateDir: string;
  /** Collector: read existing files from their start on first start. */
  fromStart?: boolean;
}

export interface RunningStack {
  natsUrl: string;
  redisUrl: string;
  log: Logger;
  stop(): Promise<void>;
}

/**
 * The all-in-one: every service of one host in one Node process, each with its own bus connection
 * (they still talk over NATS exactly as separate processes would). Starts a local nats-server and
 * redis-server under the state directory when no URLs are configured.
 */
export async function startStack(opts: StackOptions): Promise<RunningStack> {
  const { config, stateDir } = opts;
  const host = config.settings.host;
  const log = createLogger({ service: 'portcullis', host, level: config.settings.logLevel });
  const locals: LocalServer[] = [];
  const services: Service[] = [];
  const closers: (() => Promise<void>)[] = [];
  let wroteRuntime = false;
  const stopAll = async () => {
    for (const s of services.reverse()) await s.stop().catch((e: unknown) => log.error({ err: describeError(e) }, `stopping ${s.name}`));
    for (const c of closers.reverse()) await c().catch(() => undefined);
    for (const l of locals.reverse()) await l.stop().catch(() => undefined);
    if (wroteRuntime) rmSync(join(stateDir, 'runtime.json'), { force: true });
  };
  try {
    const stale = reapStaleStack(stateDir);
    if (stale) throw new PortcullisError('PC_LOCAL_SERVER', `Portcullis is already running for state directory ${stateDir} (pid ${stale.alive})`);
    let natsUrl = config.settings.natsUrl;
    let redisUrl = config.settings.redisUrl;
    let natsLocal: LocalServer | undefined;
    let redisLocal: LocalServer | undefined;
    if (!natsUrl) {
      const nats = await startNatsServer({ storeDir: join(stateDir, 'nats'), install: true });
      natsLocal = nats;
      locals.push(nats);
      natsUrl = nats.url;
      log.info({ url: natsUrl }, 'started local nats-server');
    }
    if (!redisUrl) {
      const redis = await startRedisServer({ dir: join(stateDir, 'redis'), install: true });
      redisLocal = redis;
      locals.push(redis);
      redisUrl = redis.url;
      log.info({ url: redisUrl }, 'started local redis-server');
    }
    writeRuntimeInfo(stateDir, {
      pid: process.pid,
      natsUrl,
      redisUrl,
      startedAt: Date.now(),
      configDir: config.dir,
      localPids: { ...(natsLocal ? { nats: natsLocal.pid } : {}), ...(redisLocal ? { redis: redisLocal.pid } : {}) },
    });
    wroteRuntime = true;
    const tracing = startTracing({ serviceName: 'portcullis', host, otlpEndpoint: config.settings.otlpEndpoint });
    closers.push(() => tracing.shutdown());

    const ctxFor = async (name: string) => {
      // A logger of its own, not a child: a child's `service` would repeat the parent's key in each line.
      const slog = createLogger({ service: name, host, level: config.settings.logLevel });
      const bus = await connectBus({ url: natsUrl, name: `${name}@${host}`, log: slog });
      closers.push(() => bus.close());
      await ensureStreams(bus);
      return { config, bus, log: slog, clock: systemClock, stateDir };
    };
    const redis = await connectRedis(redisUrl, log);
    closers.push(async () => {
      redis.disconnect();
    });
    // Consumers first, producers last, so nothing waits on a service that is not there yet.
    services.push(await startNotifier(await ctxFor('notifier')));
    services.push(await startBanner(await ctxFor('banner'), { redis }));
    services.push(await startMatcher(await ctxFor('matcher'), { redis }));
    services.push(await startFlowmon(await ctxFor('flowmon')));
    services.push(await startCollector(await ctxFor('collector'), { fromStart: opts.fromStart ?? false }));
    log.info({ jails: config.jails.filter((j) => j.enabled).map((j) => j.name), natsUrl, redisUrl }, 'portcullis is up');
    return { natsUrl, redisUrl, log, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
