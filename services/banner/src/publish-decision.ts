import { createHash } from 'node:crypto';
import {
  context,
  CONTRACTS,
  describeError,
  publishCore,
  publishDurable,
  sleep,
  subjectFor,
  SUBJECTS,
  type BanDecisionV1,
  type Bus,
  type Context,
  type Logger,
} from '@portcullis/shared';

/** Payload budget of one batch message: under NATS' default 1 MiB max_payload with room for headers. */
const BATCH_MAX_BYTES = 900 * 1024;
const BATCH_MAX_DECISIONS = 20_000;
/** Single decisions published between two flushes. */
const SINGLES_PER_FLUSH = 1_000;

/**
 * NATS header on a single decision that was also published in a batch (its value: the batch id).
 * Banners enforce from the batch and skip such singles without decoding them; a single without it
 * (from a banner of an earlier version) is enforced as it comes.
 */
export const BATCHED_HEADER = 'Portcullis-Batched';


/**
 * Splits decisions into batches of one jail each, in order, each under the payload budget. A jail's
 * decisions keep their relative order; batches of different jails are independent.
 */
export function planBatches(ds: readonly BanDecisionV1[], maxBytes = BATCH_MAX_BYTES): { jail: string; decisions: BanDecisionV1[] }[] {
  const out: { jail: string; decisions: BanDecisionV1[] }[] = [];
  const open = new Map<string, { jail: string; decisions: BanDecisionV1[]; bytes: number }>();
  for (const d of ds) {
    const size = Buffer.byteLength(JSON.stringify(d)) + 1;
    let cur = open.get(d.jail);
    if (cur && (cur.bytes + size > maxBytes || cur.decisions.length >= BATCH_MAX_DECISIONS)) cur = undefined;
    if (!cur) {
      cur = { jail: d.jail, decisions: [], bytes: 256 };
      open.set(d.jail, cur);
      out.push(cur);
    }
    cur.decisions.push(d);
    cur.bytes += size;
  }
  return out.map(({ jail, decisions }) => ({ jail, decisions }));
}

/** Derived from the decisions it carries, so a re-published batch is stored once. */
export function batchId(decisions: readonly BanDecisionV1[]): string {
  const h = createHash('sha256');
  for (const d of decisions) h.update(d.id).update('\0');
  return h.digest('hex').slice(0, 32);
}

/**
 * Publishes decisions twice: as BanDecisionBatch messages, which every host's banner enforces
 * from (awaited: durable when `publish` resolves), and one by one as BanDecision messages for the
 * notifier and other applications, in the background and in order, so a mass ban is in the
 * kernel without waiting for 50,000 single publishes.
 */
export class DecisionFanout {
  private queue: { d: BanDecisionV1; ctx: Context; batch: string }[] = [];
  private draining: Promise<void> | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {}

  /** `contexts[i]` is the trace context decision i is published under (default: the active one). */
  async publish(ds: readonly BanDecisionV1[], contexts?: readonly Context[]): Promise<void> {
    if (ds.length === 0) return;
    const batches = planBatches(ds).map((b) => ({ ...b, id: batchId(b.decisions) }));
    await Promise.all(
      batches.map((b) => publishDurable(this.bus, CONTRACTS.decisionBatch, subjectFor(SUBJECTS.decisionBatches, b.jail), { v: 1, id: b.id, jail: b.jail, decisions: b.decisions }, b.id)),
    );
    const batchOf = new Map<BanDecisionV1, string>();
    for (const b of batches) for (const d of b.decisions) batchOf.set(d, b.id);
    const active = context.active();
    for (let i = 0; i < ds.length; i++) this.queue.push({ d: ds[i]!, ctx: contexts?.[i] ?? active, batch: batchOf.get(ds[i]!)! });
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** Resolves when every queued single decision has been published (or given up on). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /**
   * Singles go out as core publishes (the stream stores them, Nats-Msg-Id de-duplicated) with a
   * flush per chunk instead of one JetStream acknowledgement each: per-message acknowledged
   * publishes cost the banner seconds of CPU for a 50,000-address ban, on the event loop that is
   * enforcing it. A single is the notifier's copy; enforcement and the audit log have the batch.
   */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const chunk = this.queue.splice(0, SINGLES_PER_FLUSH);
      for (const { d, ctx, batch } of chunk) {
        context.with(ctx, () => publishCore(this.bus, CONTRACTS.decision, subjectFor(SUBJECTS.decisions, d.jail), d, { msgId: d.id, headers: { [BATCHED_HEADER]: batch } }));
      }
      await this.flushWithRetry(chunk.length);
      // let the enforcer and the control handler run between chunks
      await new Promise((r) => setImmediate(r));
    }
  }

  private async flushWithRetry(count: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.bus.nc.flush();
        return;
      } catch (e) {
        if (attempt >= 5) {
          this.log.error({ count, err: describeError(e) }, 'single decisions may not have reached NATS; the notifier may miss them (the enforcement batches were acknowledged)');
          return;
        }
        await sleep(200 * 2 ** attempt);
      }
    }
  }
}
