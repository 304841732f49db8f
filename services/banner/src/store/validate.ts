import { PortcullisError, type Origin } from '@portcullis/shared';

const ORIGINS: readonly Origin[] = ['log', 'cli', 'api', 'external', 'flowmon'];
/** The bus contract carries at most 50 matched lines of at most 4096 characters. */
export const MAX_MATCHES = 50;
const MAX_LINE = 4096;
const MAX_TEXT = 1024;

export function checkJail(jail: unknown): string {
  // braces would change the cluster hash tag, whitespace is never part of a fail2ban jail name
  if (typeof jail !== 'string' || !/^[^\s{}]{1,128}$/u.test(jail)) {
    throw new PortcullisError('PC_CONFIG_INVALID', `invalid jail name ${JSON.stringify(String(jail).slice(0, 140))}`);
  }
  return jail;
}

export function checkOrigin(origin: unknown): Origin {
  if (!ORIGINS.includes(origin as Origin)) {
    throw new PortcullisError('PC_MESSAGE_INVALID', `invalid ban origin ${JSON.stringify(origin)}; expected one of ${ORIGINS.join(', ')}`);
  }
  return origin as Origin;
}

export function checkMaxretry(n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new PortcullisError('PC_CONFIG_INVALID', `maxretry must be an integer >= 1, got ${String(n)}`);
  }
  return n;
}

/** Seconds > 0, returned as whole milliseconds. */
export function checkFindtime(s: unknown): number {
  if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) {
    throw new PortcullisError('PC_CONFIG_INVALID', `findtime must be a positive number of seconds, got ${String(s)}`);
  }
  return Math.max(1, Math.round(s * 1000));
}

/** Seconds; negative means permanent and is returned as -1. Zero would be a ban that is already over. */
export function checkBantime(s: unknown): number {
  if (typeof s !== 'number' || !Number.isFinite(s) || s === 0) {
    throw new PortcullisError('PC_CONFIG_INVALID', `bantime must be a non-zero number of seconds (negative = permanent), got ${String(s)}`);
  }
  return s < 0 ? -1 : s;
}

export function checkTime(ms: unknown, what: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new PortcullisError('PC_MESSAGE_INVALID', `${what} must be epoch milliseconds, got ${String(ms)}`);
  }
  return Math.floor(ms);
}

export function checkEventId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    throw new PortcullisError('PC_MESSAGE_INVALID', 'failure event id must be a string of 1 to 256 characters');
  }
  return id;
}

/** Text stored in a record: bounded and well-formed UTF-16 (Redis' cjson rejects lone surrogates). */
export function cleanText(s: unknown, max = MAX_TEXT): string {
  if (typeof s !== 'string') return '';
  return wellFormed(s.length > max ? s.slice(0, max) : s);
}

/** The last MAX_MATCHES lines, each bounded. */
export function cleanMatches(lines: unknown): string[] {
  if (!Array.isArray(lines)) return [];
  return lines
    .filter((l): l is string => typeof l === 'string')
    .slice(-MAX_MATCHES)
    .map((l) => cleanText(l, MAX_LINE));
}

function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
