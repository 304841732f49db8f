import { createHash } from 'node:crypto';
import {
  context,
  CONTRACTS,
  describeError,
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
/** Single decisions in flight at once (a mass ban must not open 50,000 requests at once). */
const SINGLES_CONCURRENCY = 256;

export function publishDecision(bus: Bus, d: BanDecisionV1): Promise<void> {
  return publishDurable(bus, CONTRACTS.decision, subjectFor(SUBJECTS.decisions, d.jail), d, d.id);
}

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
  private queue: { d: BanDecisionV1; ctx: Context }[] = [];
  private draining: Promise<void> | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {}

  /** `contexts[i]` is the trace context decision i is published under (default: the active one). */
  async publish(ds: readonly BanDecisionV1[], contexts?: readonly Context[]): Promise<void> {
    if (ds.length === 0) return;
    const batches = planBatches(ds);
    await Promise.all(
      batches.map((b) =>
        publishDurable(this.bus, CONTRACTS.decisionBatch, subjectFor(SUBJECTS.decisionBatches, b.jail), { v: 1, id: batchId(b.decisions), jail: b.jail, decisions: b.decisions }, batchId(b.decisions)),
      ),
    );
    const active = context.active();
    for (let i = 0; i < ds.length; i++) this.queue.push({ d: ds[i]!, ctx: contexts?.[i] ?? active });
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** Resolves when every queued single decision has been published (or given up on). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const chunk = this.queue.splice(0, SINGLES_CONCURRENCY);
      await Promise.all(chunk.map(({ d, ctx }) => context.with(ctx, () => this.publishSingle(d))));
    }
  }

  private async publishSingle(d: BanDecisionV1): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await publishDecision(this.bus, d);
        return;
      } catch (e) {
        if (attempt >= 5) {
          // The batch (enforcement) and the audit log have it; only the single message is lost.
          this.log.error({ id: d.id, jail: d.jail, ip: d.ip, err: describeError(e) }, 'publishing a single decision failed; the notifier will not see it');
          return;
        }
        await sleep(200 * 2 ** attempt);
      }
    }
  }
}
