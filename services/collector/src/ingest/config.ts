import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { describeError, PortcullisError, type PortcullisConfig } from '@portcullis/shared';
import type { IngestToken } from './auth.js';

export interface IngestConfig {
  host: string;
  port: number;
  tokens: IngestToken[];
  /** Enabled jails (the ones a request may name). */
  jails: string[];
  bodyLimitBytes?: number;
}

/**
 * HTTP ingest settings from [portcullis]; undefined when `ingest_listen` is empty (the default):
 *
 *   ingest_listen = 127.0.0.1:8514
 *   ingest_tokens = webshop:3f9c0e6b1d2a4c8e9f00aa11bb22cc33 billing:...
 *   ingest_tokens_file = /etc/portcullis/ingest.tokens   (one "name token" per line, # comments)
 *   ingest_body_limit = 1048576
 */
export function ingestConfig(config: PortcullisConfig): IngestConfig | undefined {
  const opts = config.settings.options ?? {};
  const listen = (opts['ingest_listen'] ?? '').trim();
  if (listen === '') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const host = m ? ((m[1] ?? m[2]) as string) : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || isIP(host) === 0 || port > 65535) {
    throw new PortcullisError('PC_CONFIG_INVALID', `[portcullis] ingest_listen ${JSON.stringify(listen)} must be ADDRESS:PORT, e.g. 127.0.0.1:8514 or [::1]:8514`);
  }
  const tokens = [...parseTokens(opts['ingest_tokens'] ?? '', 'ingest_tokens', /[\s,]+/, ':')];
  const file = (opts['ingest_tokens_file'] ?? '').trim();
  if (file !== '') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new PortcullisError('PC_CONFIG_NOT_FOUND', `[portcullis] ingest_tokens_file ${file}: ${describeError(e)}`, { cause: e });
    }
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    tokens.push(...parseTokens(lines.join('\n'), file, /\n/, /\s+/));
  }
  if (tokens.length === 0) throw new PortcullisError('PC_CONFIG_INVALID', '[portcullis] ingest_listen is set but no token is: set ingest_tokens or ingest_tokens_file');
  const out: IngestConfig = { host, port, tokens, jails: config.jails.filter((j) => j.enabled).map((j) => j.name) };
  const limit = (opts['ingest_body_limit'] ?? '').trim();
  if (limit !== '') {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1024 || n > 16 * 1024 * 1024) throw new PortcullisError('PC_CONFIG_INVALID', `[portcullis] ingest_body_limit must be bytes from 1024 to 16777216, got ${JSON.stringify(limit)}`);
    out.bodyLimitBytes = n;
  }
  return out;
}

function parseTokens(text: string, where: string, entrySep: RegExp, nameSep: string | RegExp): IngestToken[] {
  const out: IngestToken[] = [];
  const entries = text.split(entrySep).map((s) => s.trim()).filter(Boolean);
  for (const [i, entry] of entries.entries()) {
    const parts = entry.split(nameSep);
    const [name, token] = [parts[0] ?? '', parts.slice(1).join(typeof nameSep === 'string' ? nameSep : ' ')];
    if (name === '' || token === '') throw new PortcullisError('PC_CONFIG_INVALID', `${where}: expected "name${typeof nameSep === 'string' ? nameSep : ' '}token", but entry ${i + 1} is not (its text is not shown: it may hold a secret)`);
    out.push({ name, token });
  }
  return out;
}
