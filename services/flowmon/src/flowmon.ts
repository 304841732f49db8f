import { CONTRACTS, describeError, isPortcullisError, publishCore, subjectFor, SUBJECTS, type Service, type ServiceContext } from '@portcullis/shared';
import { AlertPublisher } from './alerts.js';
import { Baselines, floodThreshold } from './baseline/baseline.js';
import { baselinePath, loadBaselines, saveBaselines } from './baseline/baseline-store.js';
import { loadFlowmonConfig, type FlowmonConfig } from './config/flowmon-config.js';
import { Detector } from './detect/detector.js';
import { buildSignals } from './detect/signals.js';
import { IncidentHandler } from './incidents.js';
import { TickAggregator } from './metrics/aggregator.js';
import { Sampler, type Reading } from './metrics/sampler.js';
import { Mitigator } from './mitigation/mitigator.js';
import { resolveTrusted } from './mitigation/trusted.js';
import { countedPorts, setUpTables } from './nft/setup.js';
import { ConnAges, readTcpConns, type ConnSummary } from './proc/tcp-conns.js';

export interface FlowmonOptions {
  /** Use this instead of reading [flowmon] from the configuration directory. */
  config?: FlowmonConfig;
}

const noConns = (): ConnSummary => ({ total: 0, longLived: new Map() });
/** Baselines are written at most this often (and at stop). */
const SAVE_EVERY_MS = 60_000;
/** After this many failed ticks in a row (and the first), flowmon tries to recreate its tables. */
const RECREATE_EVERY = 10;
/** With the nft binary (no libnftables) each read is a process: measure no faster than this. */
const BINARY_MIN_TICK_MS = 1000;

/**
 * Flowmon: counts packets by class in its own nftables table several times a second, learns what
 * is normal per metric and hour, detects floods, mitigates them in its guard table, and publishes
 * per-second samples (core NATS) and flood alerts (JetStream).
 */
export async function startFlowmon(ctx: ServiceContext, opts: FlowmonOptions = {}): Promise<Service> {
  const { bus, log, clock, config, stateDir } = ctx;
  const host = config.settings.host;
  const cfg = opts.config ?? loadFlowmonConfig(config);
  if (!cfg.enabled) {
    log.info('flowmon is disabled ([flowmon] enabled = false)');
    return { name: 'flowmon', stop: async () => undefined };
  }

  const trusted = await resolveTrusted(cfg.ignoreip, log);
  const tables = await setUpTables(cfg, trusted.nets, log);
  const client = tables?.client;
  let tickMs = cfg.tickMs;
  if (client?.transport === 'nft-binary' && tickMs < BINARY_MIN_TICK_MS) {
    log.warn({ tickMs: BINARY_MIN_TICK_MS }, 'measuring once a second: reading counters through the nft binary is too slow for faster ticks');
    tickMs = BINARY_MIN_TICK_MS;
  }
  const sampleMs = Math.max(cfg.sampleMs, tickMs);

  const file = baselinePath(stateDir);
  const baselines = new Baselines({}, await loadBaselines(file, host, log));
  const signals = buildSignals(cfg);
  const detector = new Detector(
    signals,
    {
      confirmTicks: cfg.confirmTicks,
      releaseRatio: cfg.releaseRatio,
      releaseMs: cfg.releaseMs,
      cooldownMs: cfg.cooldownMs,
      thresholdOf: (s, now) => {
        const b = baselines.get(s.metric, now);
        return { threshold: floodThreshold(b, s.floor, cfg.factor, cfg.madK), baseline: b.median };
      },
    },
    host,
  );
  const alerts = new AlertPublisher(bus, host, log);
  const mitigator = client && tables?.guard ? new Mitigator(client, cfg.guardTable, cfg.banTimeoutSec) : undefined;
  const incidents = new IncidentHandler({ host, cfg, client, mitigator, trusted, alerts, bus, clock, log });
  const sampler = new Sampler({ client, table: cfg.table, ports: countedPorts(cfg) });
  const aggregator = new TickAggregator();
  const ages = new ConnAges();
  const tcpPorts = new Set(cfg.servicePorts.filter((p) => p.proto === 'tcp').map((p) => p.port));
  const learned = [...new Set(signals.map((s) => s.metric))];

  let prev: Reading = await sampler.read();
  let conns: ConnSummary = noConns();
  let lastScan = -Infinity;
  let scanning = false;
  let lastSave = clock.now();
  let dirty = false;
  let failures = 0;

  const tick = async (): Promise<void> => {
    const cur = await sampler.read();
    const { rates, dtMs } = sampler.rates(prev, cur);
    prev = cur;
    const now = clock.now();
    // No source can hold more connections than exist: below the slowloris floor in total (the
    // kernel's CurrEstab, read anyway), the scan is skipped.
    const established = cur.kernel.get('Tcp.CurrEstab') ?? Infinity;
    const slowlorisOpen = detector.open().some((i) => i.signal.attack === 'slowloris');
    if (established < cfg.floors.slowloris && !slowlorisOpen) conns = noConns();
    else if (!scanning && now - lastScan >= cfg.connScanMs) {
      // /proc/net/tcp walks the kernel's whole socket hash (milliseconds even when nearly empty):
      // read it beside the loop, and use the latest complete scan.
      lastScan = now;
      scanning = true;
      void readTcpConns(tcpPorts)
        .then((list) => (conns = ages.update(list, clock.now(), cfg.slowlorisMinAgeMs)))
        .catch((e: unknown) => log.warn({ err: describeError(e) }, 'reading /proc/net/tcp failed'))
        .finally(() => (scanning = false));
    }
    rates.est_conns = conns.total;
    rates.max_conns_per_source = Math.max(0, ...conns.longLived.values());
    aggregator.add(rates, dtMs);

    const events = detector.tick(rates, now, dtMs);
    if (events.some((e) => e.kind === 'start')) baselines.discardPartial();
    for (const e of events) await incidents.handle(e, rates, conns);
    await incidents.periodic(detector.open(), rates, conns);

    if (aggregator.coveredMs >= sampleMs) {
      const agg = aggregator.take();
      publishCore(bus, CONTRACTS.flowSample, subjectFor(SUBJECTS.flowSamples, host), {
        v: 1,
        host,
        at: now,
        intervalMs: Math.max(1, Math.round(agg.spanMs)),
        rates: finiteRecord(agg.avg),
        peak: finiteRecord(agg.peak),
        ticks: agg.ticks,
      });
      // Attack time is never learned: nothing is fed while anything is over its threshold or open.
      if (!detector.busy()) for (const m of learned) if (agg.avg[m] !== undefined) dirty = baselines.observe(m, agg.avg[m], now) || dirty;
    }
    if (dirty && now - lastSave >= SAVE_EVERY_MS) {
      lastSave = now;
      dirty = false;
      await saveBaselines(file, baselines.snapshot(host, now)).catch((e: unknown) => log.warn({ err: describeError(e) }, 'baselines could not be saved'));
    }
  };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const loop = (): void => {
    const started = performance.now();
    running = tick()
      .then(() => (failures = 0))
      .catch(async (e: unknown) => {
        // Log the first failure of a run and then every 100th: a broken /proc must not flood the log.
        if (failures++ % 100 === 0) log.error({ err: describeError(e), failures }, 'flowmon tick failed');
        // A ruleset reload (`nft flush ruleset`, a firewall restart) removes our tables: put them back.
        if (tables && isPortcullisError(e, 'PC_FIREWALL') && failures % RECREATE_EVERY === 1) {
          try {
            await tables.recreate();
            mitigator?.reset();
            prev = await sampler.read();
            log.warn('flowmon tables were gone (ruleset flushed?); created them again');
          } catch (e2) {
            log.error({ err: describeError(e2) }, 'flowmon tables could not be created again');
          }
        }
      })
      .then(() => {
        if (!stopped) timer = setTimeout(loop, Math.max(0, tickMs - (performance.now() - started)));
      });
  };
  timer = setTimeout(loop, tickMs);
  log.info({ tickMs, sampleMs, nft: client?.transport ?? 'unavailable', mitigate: mitigator !== undefined, ports: countedPorts(cfg).length }, 'flowmon started');

  return {
    name: 'flowmon',
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      await incidents.closeAll(detector.open());
      await alerts.flush();
      await saveBaselines(file, baselines.snapshot(host, clock.now())).catch((e: unknown) => log.warn({ err: describeError(e) }, 'baselines could not be saved'));
      await tables?.remove().catch((e: unknown) => log.warn({ err: describeError(e) }, 'flowmon tables could not be removed'));
    },
  };
}

function finiteRecord(r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) if (Number.isFinite(v) && v >= 0) out[k] = v;
  return out;
}
