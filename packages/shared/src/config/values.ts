import { isIP } from 'node:net';
import { PortcullisError } from '../errors.js';
import type { SourceRef } from './types.js';

/** Converters for single option values; each throws PC_CONFIG_INVALID pointing at `ref`. */

export function invalid(ref: SourceRef | undefined, message: string): PortcullisError {
  return new PortcullisError('PC_CONFIG_INVALID', message, ref ? { location: ref } : {});
}

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

/** fail2ban's booleans, case-insensitive. fail2ban reads anything else as false; we refuse it. */
export function parseBool(key: string, text: string, ref?: SourceRef): boolean {
  const v = text.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw invalid(ref, `${key} must be true or false (also yes/no, on/off, 1/0), got ${JSON.stringify(text)}`);
}

export function parsePositiveInt(key: string, text: string, ref?: SourceRef): number {
  const v = text.trim();
  const n = /^\+?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw invalid(ref, `${key} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** fail2ban's splitwords, also splitting on tabs. */
export function splitWords(text: string): string[] {
  return text.split(/[\s,]+/).filter((w) => w !== '');
}

const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

export function isHostName(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name === '' || name.length > 253 || /^[\d.]+$/.test(name)) return false;
  return name.split('.').every((label) => HOST_LABEL.test(label));
}

/**
 * One ignoreip entry, in the forms fail2ban's IPAddr accepts: an address (IPv6 optionally in
 * brackets), `address/prefix`, `address/netmask`, or a host name (resolved later).
 */
export function checkIgnoreEntry(entry: string, ref?: SourceRef): void {
  const bad = (why: string): PortcullisError =>
    invalid(ref, `ignoreip entry ${JSON.stringify(entry)} ${why}: use an IPv4/IPv6 address, a CIDR range such as 192.0.2.0/24, or a host name`);
  const bare = entry.length > 2 && entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
  const slash = bare.indexOf('/');
  if (slash < 0) {
    if (isIP(bare) !== 0) return;
    if (bare.includes(':') || /^[\d.]+$/.test(bare)) throw bad('is not a valid IP address');
    if (!isHostName(bare)) throw bad('is neither an IP address nor a host name');
    return;
  }
  const address = bare.slice(0, slash);
  const mask = bare.slice(slash + 1);
  const family = isIP(address);
  if (family === 0) throw bad(`has "${address}" before "/", which is not an IP address`);
  const bits = family === 4 ? 32 : 128;
  if (/^\d+$/.test(mask)) {
    if (Number(mask) > bits) throw bad(`has a prefix length above ${bits}`);
    return;
  }
  if (isIP(mask) !== family || maskLength(mask, family) === undefined) throw bad(`has "${mask}" after "/", which is neither a prefix length nor a contiguous netmask`);
}

/** Prefix length of a contiguous netmask such as 255.255.255.0, else undefined. */
function maskLength(mask: string, family: number): number | undefined {
  let binary: string;
  if (family === 4) {
    binary = mask
      .split('.')
      .map((o) => Number(o).toString(2).padStart(8, '0'))
      .join('');
  } else {
    binary = expandIpv6(mask)
      .map((g) => parseInt(g, 16).toString(2).padStart(16, '0'))
      .join('');
  }
  return /^1*0*$/.test(binary) ? binary.indexOf('0') === -1 ? binary.length : binary.indexOf('0') : undefined;
}

function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t];
}

const PORT_NAME = /^[A-Za-z][A-Za-z0-9._+-]*$/;

/** `ssh`, `http,https`, `8080`, `1000:2000` (or `1000-2000`), comma-separated. */
export function checkPort(text: string, ref?: SourceRef): void {
  const parts = text.split(',').map((p) => p.trim());
  if (text.trim() === '' || parts.some((p) => p === '')) {
    throw invalid(ref, `port ${JSON.stringify(text)} is empty or has an empty entry: use numbers, service names or ranges separated by commas, e.g. ssh or 80,443 or 0:65535`);
  }
  for (const part of parts) {
    if (PORT_NAME.test(part)) continue;
    const range = /^(\d+)(?:[:-](\d+))?$/.exec(part);
    const low = range ? Number(range[1]) : NaN;
    const high = range?.[2] !== undefined ? Number(range[2]) : low;
    if (!range || low > 65535 || high > 65535 || low > high) {
      throw invalid(ref, `port ${JSON.stringify(part)} is not a port number (0-65535), a range such as 1000:2000, or a service name such as ssh`);
    }
  }
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp', 'udplite', 'dccp', 'all']);

/** One protocol or a comma-separated list, as fail2ban's multiport actions take it. */
export function checkProtocol(text: string, ref?: SourceRef): void {
  const parts = text.split(',').map((p) => p.trim().toLowerCase());
  if (parts.some((p) => !PROTOCOLS.has(p))) {
    throw invalid(ref, `protocol ${JSON.stringify(text)} is not one of ${[...PROTOCOLS].join(', ')} (or a comma-separated list of them)`);
  }
}

const BACKEND_RE = /^(auto|pyinotify|gamin|polling|systemd)(?:\[.*\])?$/s;

export function checkBackend(text: string, ref?: SourceRef): void {
  if (!BACKEND_RE.test(text.trim())) {
    throw invalid(ref, `backend ${JSON.stringify(text)} is not one of auto, polling, pyinotify, gamin, systemd (optionally with [options])`);
  }
}

export function isSystemdBackend(backend: string): boolean {
  return backend.trim().startsWith('systemd');
}
