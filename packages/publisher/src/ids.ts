import { createHash } from 'node:crypto';

/**
 * Deterministic ids: the same report gives the same id, so a retry after an error whose publish in
 * fact landed is stored once (JetStream's duplicate window, 2 minutes). SHA-256 of a canonical
 * JSON (sorted keys), 32 hex characters.
 */
export function contentId(prefix: string, value: unknown): string {
  return `${prefix}${createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 32)}`;
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
