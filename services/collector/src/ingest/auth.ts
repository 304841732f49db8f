import { createHash, timingSafeEqual } from 'node:crypto';
import { PortcullisError } from '@portcullis/shared';

export interface IngestToken {
  /** Who holds it: shown in logs, and part of every id derived for its events. */
  name: string;
  token: string;
}

/** Short tokens can be guessed over the network; 16 characters is the floor, 32 random ones is advised. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Bearer-token check in constant time: every configured token is compared (as SHA-256 digests, so
 * lengths never leak either) whatever matches, and the answer comes after all comparisons.
 */
export class TokenVerifier {
  readonly #tokens: { name: string; digest: Buffer }[];

  constructor(tokens: readonly IngestToken[]) {
    if (tokens.length === 0) throw new PortcullisError('PC_CONFIG_INVALID', 'ingest: no tokens configured; every request would be refused (set ingest_tokens)');
    const names = new Set<string>();
    this.#tokens = tokens.map((t) => {
      if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(t.name)) throw new PortcullisError('PC_CONFIG_INVALID', `ingest: token name ${JSON.stringify(t.name)} must be 1-64 letters, digits, "_", ".", "@" or "-"`);
      if (names.has(t.name)) throw new PortcullisError('PC_CONFIG_INVALID', `ingest: token name ${JSON.stringify(t.name)} is used twice`);
      names.add(t.name);
      if (t.token.length < MIN_TOKEN_LENGTH || /\s/.test(t.token)) {
        throw new PortcullisError('PC_CONFIG_INVALID', `ingest: the token of ${JSON.stringify(t.name)} must be at least ${MIN_TOKEN_LENGTH} characters without spaces`);
      }
      return { name: t.name, digest: digest(t.token) };
    });
  }

  /** The name of the token in an `Authorization: Bearer ...` header, or undefined. */
  verify(authorization: string | undefined): string | undefined {
    const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (!m) return undefined;
    const presented = digest(m[1] as string);
    let found: string | undefined;
    for (const t of this.#tokens) {
      if (timingSafeEqual(presented, t.digest) && found === undefined) found = t.name;
    }
    return found;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
