/**
 * Which jails see a syslog message, decided by its program (RFC 3164 tag / RFC 5424 APP-NAME), the
 * way a file jail sees only its own log: `syslog_program = sshd` in a jail routes sshd's messages to
 * it. `*` matches any run of characters, so `postfix/*` covers every postfix daemon and `*` every
 * message.
 */
export interface SyslogRoute {
  /** Program name or glob (`*` = any characters). Case-sensitive, like the programs' names. */
  program: string;
  jails: string[];
}

export class SyslogRouter {
  readonly #routes: { re: RegExp; jails: string[] }[];
  /** Program names repeat endlessly; the answer for each is computed once (bounded: programs are few). */
  readonly #cache = new Map<string, string[]>();
  static readonly #CACHE_MAX = 4096;

  constructor(routes: readonly SyslogRoute[]) {
    this.#routes = routes.map((r) => ({ re: globToRegExp(r.program), jails: [...r.jails] }));
  }

  get empty(): boolean {
    return this.#routes.length === 0;
  }

  /** Sorted, de-duplicated jail names for this program; empty when no route matches. */
  jailsFor(program: string): string[] {
    const hit = this.#cache.get(program);
    if (hit) return hit;
    const jails = new Set<string>();
    for (const r of this.#routes) if (r.re.test(program)) for (const j of r.jails) jails.add(j);
    const out = [...jails].sort();
    if (this.#cache.size >= SyslogRouter.#CACHE_MAX) this.#cache.clear();
    this.#cache.set(program, out);
    return out;
  }
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}
