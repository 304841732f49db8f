import { Kvm, type KV } from '@nats-io/kv';
import { describeError, type Bus, type Logger } from '@portcullis/shared';
import { RangeSet } from './range-set.js';

/** The notifier's JetStream KV bucket: done-sets (below) and digest sent-marks. */
export const NOTIFIER_BUCKET = 'PORTCULLIS_NOTIFIER';
/** Longer than the decisions stream keeps messages (7 days): nothing a record covers outlives it. */
const BUCKET_TTL_MS = 8 * 24 * 3600 * 1000;

export async function openNotifierBucket(bus: Bus): Promise<KV> {
  return new Kvm(bus.js).create(NOTIFIER_BUCKET, {
    history: 1,
    ttl: BUCKET_TTL_MS,
    description: 'Portcullis notifier: stream sequences already notified, per target; digests sent',
  });
}

interface StoredDone {
  v: 1;
  /** The stream's creation time: a recreated stream restarts its sequences, and old records no longer apply. */
  created: string;
  ranges: [number, number][];
}

/**
 * Duplicate suppression across restarts. For one target and one stream, the stream sequences whose
 * notification a receiver already accepted (plus those that were not for this target). JetStream
 * redelivers a message whose ack was lost (crash, NATS restart between "accepted" and "acked"); a
 * redelivered sequence found here is acked and not sent again.
 *
 * Why stream sequences and not decision ids: a 50,000-ban storm becomes a handful of summary mails,
 * and one record per mail (a few ranges) replaces 50,000 id keys. Why it stays small: everything at
 * or below the consumer's ack floor can never be redelivered, so it is dropped (`prune`).
 *
 * Each notifier process writes its own key (`done.<target>.<stream>.<instance>`) so two instances
 * never overwrite each other; keys of earlier processes are read at start and deleted once the ack
 * floor has passed them.
 */
export class DoneSet {
  private readonly own = new RangeSet();
  private readonly others = new Map<string, RangeSet>();
  private dirty = false;

  private constructor(
    private readonly kv: KV,
    private readonly prefix: string,
    private readonly instanceId: string,
    private readonly streamCreated: string,
    private readonly log: Logger,
  ) {}

  static async load(kv: KV, opts: { targetId: string; stream: string; instanceId: string; streamCreated: string; log: Logger }): Promise<DoneSet> {
    const prefix = `done.${opts.targetId}.${opts.stream}`;
    const set = new DoneSet(kv, prefix, opts.instanceId, opts.streamCreated, opts.log);
    const keys: string[] = [];
    for await (const key of await kv.keys(`${prefix}.*`)) keys.push(key);
    for (const key of keys) {
      const entry = await kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      let stored: StoredDone | undefined;
      try {
        stored = entry.json<StoredDone>();
      } catch {
        stored = undefined;
      }
      if (!stored || stored.v !== 1 || stored.created !== opts.streamCreated || !Array.isArray(stored.ranges)) {
        await kv.delete(key).catch(() => undefined);
        continue;
      }
      set.others.set(key, RangeSet.from(stored.ranges.filter((r) => Array.isArray(r) && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]))));
    }
    return set;
  }

  private get ownKey(): string {
    return `${this.prefix}.${this.instanceId}`;
  }

  has(seq: number): boolean {
    if (this.own.has(seq)) return true;
    for (const set of this.others.values()) if (set.has(seq)) return true;
    return false;
  }

  add(seq: number): void {
    this.own.add(seq);
    this.dirty = true;
  }

  /** Writes this process' record; resolves once stored. */
  async persist(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const value: StoredDone = { v: 1, created: this.streamCreated, ranges: this.own.toJSON() };
    try {
      await this.kv.put(this.ownKey, JSON.stringify(value));
    } catch (e) {
      this.dirty = true;
      throw e;
    }
  }

  /** Forgets what lies at or below the consumer's ack floor (it is never redelivered). */
  async prune(ackFloor: number): Promise<void> {
    if (this.own.dropThrough(ackFloor)) this.dirty = true;
    for (const [key, set] of this.others) {
      if (set.max <= ackFloor) {
        this.others.delete(key);
        await this.kv.delete(key).catch((e: unknown) => this.log.debug({ key, err: describeError(e) }, 'could not delete an old done record'));
      } else {
        set.dropThrough(ackFloor);
      }
    }
    await this.persist();
  }
}
