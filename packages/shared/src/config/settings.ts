import { DEFAULT_SECTION } from './ini.js';
import { resolveSection } from './interpolation.js';
import type { IniSections, PortcullisSettings, SourceRef } from './types.js';
import { invalid, isHostName } from './values.js';

/** Portcullis' own settings: section [portcullis] of portcullis.conf / portcullis.local. */
export const SETTINGS_SECTION = 'portcullis';

export const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const FIREWALLS: readonly string[] = ['nftables', 'iptables'];

const NFT_NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export function buildSettings(sections: IniSections, defaultHost: string): PortcullisSettings {
  const options = resolveSection(sections, SETTINGS_SECTION);
  const refOf = (key: string): SourceRef | undefined =>
    sections.get(SETTINGS_SECTION)?.get(key)?.ref ?? sections.get(DEFAULT_SECTION)?.get(key)?.ref;
  const get = (key: string, fallback: string): { text: string; ref: SourceRef | undefined } => ({
    text: (options[key] ?? fallback).trim(),
    ref: refOf(key),
  });

  const host = get('host', defaultHost);
  if (!isHostName(host.text)) {
    const where = host.ref ? '' : ' (it came from the system host name: set host = ... in [portcullis] of portcullis.local)';
    throw invalid(host.ref, `host ${JSON.stringify(host.text)} is not a valid host name (letters, digits, "-", "_" and dots)${where}`);
  }
  const nats = get('nats_url', '');
  if (nats.text !== '') {
    for (const url of nats.text.split(',').map((u) => u.trim())) checkUrl('nats_url', url, ['nats:', 'tls:', 'ws:', 'wss:'], nats.ref);
  }
  const redis = get('redis_url', '');
  if (redis.text !== '') checkUrl('redis_url', redis.text, ['redis:', 'rediss:'], redis.ref);
  const firewall = get('firewall', 'nftables');
  if (!FIREWALLS.includes(firewall.text)) {
    throw invalid(firewall.ref, `firewall must be ${FIREWALLS.join(' or ')}, got ${JSON.stringify(firewall.text)}`);
  }
  const nftTable = get('nft_table', 'portcullis');
  if (!NFT_NAME_RE.test(nftTable.text)) {
    throw invalid(nftTable.ref, `nft_table ${JSON.stringify(nftTable.text)} is not a valid nftables table name (a letter or "_", then letters, digits, "_" or "-", at most 64)`);
  }
  const otlp = get('otlp_endpoint', '');
  if (otlp.text !== '') checkUrl('otlp_endpoint', otlp.text, ['http:', 'https:'], otlp.ref);
  const logLevel = get('log_level', 'info');
  if (!LOG_LEVELS.includes(logLevel.text)) {
    throw invalid(logLevel.ref, `log_level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel.text)}`);
  }

  return {
    host: host.text,
    natsUrl: nats.text,
    redisUrl: redis.text,
    firewall: firewall.text,
    nftTable: nftTable.text,
    otlpEndpoint: otlp.text,
    logLevel: logLevel.text,
    options,
  };
}

function checkUrl(key: string, text: string, schemes: string[], ref: SourceRef | undefined): void {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !schemes.includes(url.protocol)) {
    const examples = schemes.map((s) => `${s}//...`).join(', ');
    throw invalid(ref, `${key} ${JSON.stringify(text)} is not a valid URL; expected ${examples}`);
  }
}
