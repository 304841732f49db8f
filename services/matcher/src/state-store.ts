import type { Redis } from '@portcullis/shared';
import type { SourceStateSnapshot } from './filter/index.js';

/**
 * Where a (jail, source) filter state waits between two batches, so that the next batch of the
 * source finds it on whichever matcher instance handles it (partitions.ts serialises a source's
 * batches). Sessions end after 5 minutes in fail2ban; the key lives a little longer.
 */
export interface StateStore {
  load(jail: string, source: string): Promise<SourceStateSnapshot | undefined>;
  save(jail: string, source: string, state: SourceStateSnapshot | undefined): Promise<void>;
}

const TTL_S = 15 * 60;

export class RedisStateStore implements StateStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'portcullis:matcher:state',
  ) {}

  private key(jail: string, source: string): string {
    return `${this.prefix}:${jail}:${source}`;
  }

  async load(jail: string, source: string): Promise<SourceStateSnapshot | undefined> {
    const v = await this.redis.get(this.key(jail, source));
    return v === null ? undefined : (JSON.parse(v) as SourceStateSnapshot);
  }

  async save(jail: string, source: string, state: SourceStateSnapshot | undefined): Promise<void> {
    if (state === undefined) await this.redis.del(this.key(jail, source));
    else await this.redis.set(this.key(jail, source), JSON.stringify(state), 'EX', TTL_S);
  }
}
