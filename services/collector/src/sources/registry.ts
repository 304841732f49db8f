import { PortcullisError } from '@portcullis/shared';
import { fileSourceFactory, type FileSourceOptions } from './file/index.js';
import { journaldSourceFactory, type JournaldSourceOptions } from './journald/index.js';
import { syslogSourceFactory, type SyslogSourceOptions } from './syslog/index.js';
import type { SourceFactory } from './source.js';

/** Options of each source kind. A new kind (journald, syslog, http) adds its entry here. */
export interface SourceKinds {
  file: FileSourceOptions;
  journald: JournaldSourceOptions;
  syslog: SyslogSourceOptions;
}

export type SourceKind = keyof SourceKinds;

/**
 * Source factories by kind. An instance rather than a module-level map, so tests and embedders can
 * hold their own; createSourceRegistry() gives one with every built-in kind registered.
 */
export class SourceRegistry {
  readonly #factories = new Map<string, SourceFactory<never>>();

  registerSource<K extends SourceKind>(kind: K, factory: SourceFactory<SourceKinds[K]>): void {
    if (this.#factories.has(kind)) throw new PortcullisError('PC_INTERNAL', `log source kind "${kind}" is already registered`);
    this.#factories.set(kind, factory);
  }

  getSourceFactory<K extends SourceKind>(kind: K): SourceFactory<SourceKinds[K]> {
    const f = this.#factories.get(kind);
    if (!f) throw new PortcullisError('PC_CONFIG_INVALID', `unknown log source kind "${kind}" (known: ${this.kinds().join(', ') || 'none'})`);
    return f as SourceFactory<SourceKinds[K]>;
  }

  has(kind: string): kind is SourceKind {
    return this.#factories.has(kind);
  }

  kinds(): string[] {
    return [...this.#factories.keys()];
  }
}

export function createSourceRegistry(): SourceRegistry {
  const r = new SourceRegistry();
  r.registerSource('file', fileSourceFactory);
  r.registerSource('journald', journaldSourceFactory);
  r.registerSource('syslog', syslogSourceFactory);
  return r;
}
