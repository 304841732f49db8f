import {
  DEFAULT_SECTION,
  isPortcullisError,
  parseBool,
  parseDuration,
  readConfigStack,
  resolveOption,
  type IniSections,
  type PortcullisConfig,
  type SourceRef,
} from '@portcullis/shared';
import { DEFAULT_SERVICE_PORTS, invalidOption, parsePortNumbers, parseServicePorts, type ServicePort } from './service-ports.js';
import { checkTrustEntry } from './trust-entries.js';

export const FLOWMON_SECTION = 'flowmon';

/** Floors: below these a metric never counts as a flood, whatever its baseline (per second). */
export interface Floors {
  udp: number;
  dns: number;
  icmp: number;
  syn: number;
  /** New connections per second on one HTTP port. */
  http: number;
  other: number;
  tcpOos: number;
  /** Established connections from one source to the service ports. */
  slowloris: number;
}

export interface FlowmonConfig {
  enabled: boolean;
  /** false: detect and alert, never touch the firewall beyond the measuring table. */
  mitigate: boolean;
  /** Measuring table (counters only, read every tick). */
  table: string;
  /** Mitigation table (sets, drops, limits); `<table>_guard`. */
  guardTable: string;
  tickMs: number;
  sampleMs: number;
  connScanMs: number;
  servicePorts: ServicePort[];
  httpPorts: number[];
  /** [flowmon] ignoreip plus the jails' [DEFAULT] ignoreip. */
  ignoreip: string[];
  floors: Floors;
  /** A flood is at least `factor` times the baseline median ... */
  factor: number;
  /** ... and at least `madK` robust standard deviations above it. */
  madK: number;
  confirmTicks: number;
  /** An alert ends when the rate stays below threshold * releaseRatio for releaseMs. */
  releaseRatio: number;
  releaseMs: number;
  /** Mitigation stays this long after the end; a return within it resumes the same alert. */
  cooldownMs: number;
  /** Timeout of drop-set elements: a safety net if flowmon dies; normally removed at the end. */
  banTimeoutSec: number;
  sourceSamplePercent: number;
  /** Connection-opening SYNs are sampled at this rate instead. */
  synSamplePercent: number;
  /** A source is attributable when it sends at least this share of the sampled flood. */
  attributeShare: number;
  httpSourceRate: number;
  slowlorisMinAgeMs: number;
  alertUpdateMs: number;
  /** Publish ban requests for proven sources (http-flood, slowloris) into this jail; empty: never. */
  banJail: string;
}

interface OptionSpec {
  apply(cfg: FlowmonConfig, text: string, ref: SourceRef): void;
  help: string;
}

const int = (key: string, min: number, max: number, set: (c: FlowmonConfig, v: number) => void): OptionSpec => ({
  help: `an integer from ${min} to ${max}`,
  apply(cfg, text, ref) {
    const v = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
    if (!(v >= min && v <= max)) throw invalidOption(ref, `${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
    set(cfg, v);
  },
});

const num = (key: string, min: number, max: number, set: (c: FlowmonConfig, v: number) => void): OptionSpec => ({
  help: `a number from ${min} to ${max}`,
  apply(cfg, text, ref) {
    const v = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
    if (!(v >= min && v <= max)) throw invalidOption(ref, `${key} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
    set(cfg, v);
  },
});

const seconds = (key: string, minS: number, maxS: number, set: (c: FlowmonConfig, s: number) => void): OptionSpec => ({
  help: `a duration from ${minS}s to ${maxS}s`,
  apply(cfg, text, ref) {
    const s = parseDuration(text, ref, key);
    if (!(s >= minS && s <= maxS)) throw invalidOption(ref, `${key} must be between ${minS}s and ${maxS}s, got ${JSON.stringify(text)}`);
    set(cfg, s);
  },
});

const bool = (key: string, set: (c: FlowmonConfig, v: boolean) => void): OptionSpec => ({
  help: 'true or false',
  apply(cfg, text, ref) {
    set(cfg, parseBool(key, text, ref));
  },
});

const floor = (key: string, f: keyof Floors, max = 100_000_000): [string, OptionSpec] => [key, num(key, 1, max, (c, v) => (c.floors[f] = v))];

const NFT_NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,57}$/;
const JAIL_NAME_RE = /^[A-Za-z0-9._-]{1,128}$/;

const OPTIONS = new Map<string, OptionSpec>([
  ['enabled', bool('enabled', (c, v) => (c.enabled = v))],
  ['mitigate', bool('mitigate', (c, v) => (c.mitigate = v))],
  [
    'nft_table',
    {
      help: 'an nftables table name',
      apply(cfg, text, ref) {
        const t = text.trim();
        if (!NFT_NAME_RE.test(t)) throw invalidOption(ref, `nft_table ${JSON.stringify(t)} is not a valid table name (a letter or "_", then letters, digits, "_" or "-", at most 58)`);
        cfg.table = t;
        cfg.guardTable = `${t}_guard`;
      },
    },
  ],
  ['tick_ms', int('tick_ms', 20, 1000, (c, v) => (c.tickMs = v))],
  ['sample_ms', int('sample_ms', 100, 60_000, (c, v) => (c.sampleMs = v))],
  ['conn_scan_ms', int('conn_scan_ms', 50, 60_000, (c, v) => (c.connScanMs = v))],
  [
    'service_ports',
    {
      help: 'ports such as 80/tcp 53/udp',
      apply(cfg, text, ref) {
        const ports = parseServicePorts(text, ref);
        if (ports.length > 64) throw invalidOption(ref, `service_ports lists ${ports.length} ports; at most 64 are counted separately`);
        cfg.servicePorts = ports;
      },
    },
  ],
  ['http_ports', { help: 'port numbers', apply: (cfg, text, ref) => void (cfg.httpPorts = parsePortNumbers(text, ref, 'http_ports')) }],
  [
    'ignoreip',
    {
      help: 'addresses, CIDR ranges or host names',
      apply(cfg, text, ref) {
        const words = text.split(/[\s,]+/).filter(Boolean);
        for (const w of words) checkTrustEntry(w, ref);
        cfg.ignoreip.push(...words);
      },
    },
  ],
  floor('floor_udp', 'udp'),
  floor('floor_dns', 'dns'),
  floor('floor_icmp', 'icmp'),
  floor('floor_syn', 'syn'),
  floor('floor_http', 'http'),
  floor('floor_other', 'other'),
  floor('floor_tcp_oos', 'tcpOos'),
  floor('slowloris_conns', 'slowloris', 1_000_000),
  ['factor', num('factor', 1.5, 1000, (c, v) => (c.factor = v))],
  ['mad_k', num('mad_k', 1, 1000, (c, v) => (c.madK = v))],
  ['confirm_ticks', int('confirm_ticks', 1, 50, (c, v) => (c.confirmTicks = v))],
  ['release_ratio', num('release_ratio', 0.05, 1, (c, v) => (c.releaseRatio = v))],
  ['release', seconds('release', 0.1, 3600, (c, s) => (c.releaseMs = Math.round(s * 1000)))],
  ['cooldown', seconds('cooldown', 0, 86_400, (c, s) => (c.cooldownMs = Math.round(s * 1000)))],
  ['ban_timeout', seconds('ban_timeout', 10, 30 * 86_400, (c, s) => (c.banTimeoutSec = Math.round(s)))],
  ['source_sample_percent', int('source_sample_percent', 1, 100, (c, v) => (c.sourceSamplePercent = v))],
  ['syn_sample_percent', int('syn_sample_percent', 1, 100, (c, v) => (c.synSamplePercent = v))],
  ['attribute_share', num('attribute_share', 0.001, 1, (c, v) => (c.attributeShare = v))],
  ['http_source_rate', num('http_source_rate', 1, 1_000_000, (c, v) => (c.httpSourceRate = v))],
  ['slowloris_min_age', seconds('slowloris_min_age', 0, 86_400, (c, s) => (c.slowlorisMinAgeMs = Math.round(s * 1000)))],
  ['alert_update', seconds('alert_update', 0.2, 3600, (c, s) => (c.alertUpdateMs = Math.round(s * 1000)))],
  [
    'ban_jail',
    {
      help: 'a jail name or empty',
      apply(cfg, text, ref) {
        const j = text.trim();
        if (j !== '' && !JAIL_NAME_RE.test(j)) throw invalidOption(ref, `ban_jail ${JSON.stringify(j)} is not a jail name (letters, digits, ".", "_", "-")`);
        cfg.banJail = j;
      },
    },
  ],
]);

export function defaultFlowmonConfig(): FlowmonConfig {
  return {
    enabled: true,
    mitigate: true,
    table: 'portcullis_flow',
    guardTable: 'portcullis_flow_guard',
    tickMs: 100,
    sampleMs: 1000,
    connScanMs: 1000,
    servicePorts: parseServicePorts(DEFAULT_SERVICE_PORTS),
    httpPorts: [80, 443],
    ignoreip: [],
    floors: { udp: 2000, dns: 500, icmp: 500, syn: 1000, http: 200, other: 1000, tcpOos: 2000, slowloris: 50 },
    factor: 5,
    madK: 8,
    confirmTicks: 2,
    releaseRatio: 0.5,
    releaseMs: 2000,
    cooldownMs: 30_000,
    banTimeoutSec: 600,
    sourceSamplePercent: 5,
    synSamplePercent: 25,
    attributeShare: 0.05,
    httpSourceRate: 20,
    slowlorisMinAgeMs: 10_000,
    alertUpdateMs: 1000,
    banJail: '',
  };
}

/**
 * Reads `[flowmon]` of the portcullis stack (portcullis.conf, .d, .local) of `config.dir`. Trusted
 * addresses are `[flowmon] ignoreip`, the jails' `[DEFAULT] ignoreip` and every enabled jail's
 * ignoreip (an address a jail must never ban is never dropped by flowmon either). Every bad value
 * throws PC_CONFIG_INVALID naming its file and line.
 */
export function loadFlowmonConfig(config: Pick<PortcullisConfig, 'dir' | 'jails'>): FlowmonConfig {
  const cfg = buildFlowmonConfig(readConfigStack(config.dir, 'portcullis').sections);
  const trusted = [...defaultIgnoreip(config.dir), ...config.jails.filter((j) => j.enabled).flatMap((j) => j.ignoreip)];
  cfg.ignoreip = [...new Set([...trusted, ...cfg.ignoreip])];
  return cfg;
}

/** `[DEFAULT] ignoreip` of the jail files, checked; empty when it refers to values only a jail defines. */
function defaultIgnoreip(dir: string): string[] {
  const jails = readConfigStack(dir, 'jail').sections;
  const entry = jails.get(DEFAULT_SECTION)?.get('ignoreip');
  if (!entry) return [];
  let text: string;
  try {
    text = resolveOption(jails, DEFAULT_SECTION, 'ignoreip') ?? '';
  } catch (e) {
    // A %(name)s only a jail defines: each enabled jail's own (resolved) ignoreip covers it.
    if (isPortcullisError(e, 'PC_CONFIG_INTERPOLATION')) return [];
    throw e;
  }
  const words = text.split(/[\s,]+/).filter(Boolean);
  for (const w of words) checkTrustEntry(w, entry.ref);
  return words;
}

/** [flowmon] from already-read portcullis sections; only keys written in [flowmon] itself count. */
export function buildFlowmonConfig(sections: IniSections): FlowmonConfig {
  const cfg = defaultFlowmonConfig();
  const section = sections.get(FLOWMON_SECTION);
  if (!section) return cfg;
  for (const [key, entry] of section) {
    const spec = OPTIONS.get(key);
    if (!spec) {
      const near = [...OPTIONS.keys()].filter((k) => editDistance(k, key) <= 2);
      const hint = near.length > 0 ? `; did you mean ${near.join(', ')}?` : `; known options: ${[...OPTIONS.keys()].join(', ')}`;
      throw invalidOption(entry.ref, `unknown option ${JSON.stringify(key)}${hint}`);
    }
    const text = resolveOption(sections, FLOWMON_SECTION, key) ?? entry.value;
    spec.apply(cfg, text, entry.ref);
  }
  const ref = section.ref;
  if (cfg.sampleMs < cfg.tickMs) throw invalidOption(ref, `sample_ms (${cfg.sampleMs}) must not be shorter than tick_ms (${cfg.tickMs})`);
  if (cfg.connScanMs < cfg.tickMs) throw invalidOption(ref, `conn_scan_ms (${cfg.connScanMs}) must not be shorter than tick_ms (${cfg.tickMs})`);
  return cfg;
}

/** Levenshtein distance, for "did you mean" on misspelt option names. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}
