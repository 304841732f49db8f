import { createHash } from 'node:crypto';
import {
  context,
  CONTRACTS,
  describeError,
  encodeMessage,
  publishCoreEncoded,
  publishDurableEncoded,
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
/** Single decisions published between two flushes (and two turns of the event loop, so enforcement is not held up). */
const SINGLES_PER_FLUSH = 250;
/** How long singles wait for decisions under way to be enforced and published before they go anyway. */
const SINGLES_YIELD_MS = 1_000;

/**
 * NATS header on a single decision that was also published in a batch (its value: the batch id).
 * Banners enforce from the batch and skip such singles without decoding them; a single without it
 * (from a banner of an earlier version) is enforced as it comes.
 */
export const BATCHED_HEADER = 'Portcullis-Batched';

const utf8 = new TextEncoder();


/**
 * Splits decisions into batches of one jail each, in order, each under the payload budget. A jail's
 * decisions keep their relative order; batches of different jails are independent. `json[i]` is
 * decision i's JSON, measured here and published as its single message.
 */
export function planBatches(ds: readonly BanDecisionV1[], maxBytes = BATCH_MAX_BYTES): { jail: string; decisions: BanDecisionV1[]; json: string[] }[] {
  const out: { jail: string; decisions: BanDecisionV1[]; json: string[] }[] = [];
  const open = new Map<string, { jail: string; decisions: BanDecisionV1[]; json: string[]; bytes: number }>();
  for (const d of ds) {
    const json = JSON.stringify(d);
    const size = Buffer.byteLength(json) + 1;
    let cur = open.get(d.jail);
    if (cur && (cur.bytes + size > maxBytes || cur.decisions.length >= BATCH_MAX_DECISIONS)) cur = undefined;
    if (!cur) {
      cur = { jail: d.jail, decisions: [], json: [], bytes: 256 };
      open.set(d.jail, cur);
      out.push(cur);
    }
    cur.decisions.push(d);
    cur.json.push(json);
    cur.bytes += size;
  }
  return out.map(({ jail, decisions, json }) => ({ jail, decisions, json }));
}

/**
 * A batch message: validated against its contract (every decision in it), then written from the
 * decisions' JSON that planBatches made, which the singles reuse: each decision is validated and
 * serialised once.
 */
export function encodeBatch(b: { id: string; jail: string; decisions: BanDecisionV1[]; json: readonly string[] }): Uint8Array {
  const batch = { v: 1 as const, id: b.id, jail: b.jail, decisions: b.decisions };
  const checked = CONTRACTS.decisionBatch.schema.safeParse(batch);
  // encodeMessage says what is wrong (PC_MESSAGE_INVALID)
  if (!checked.success) return encodeMessage(CONTRACTS.decisionBatch, batch);
  return utf8.encode(`{"v":1,"id":${JSON.stringify(b.id)},"jail":${JSON.stringify(b.jail)},"decisions":[${b.json.join(',')}]}`);
}

/** Derived from the decisions it carries, so a re-published batch is stored once. */
export function batchId(decisions: readonly BanDecisionV1[]): string {
  const h = createHash('sha256');
  for (const d of decisions) h.update(d.id).update('\0');
  return h.digest('hex').slice(0, 32);
}

/** How many batch ids EnforcedHere remembers; one forgotten is merely enforced twice. */
const ENFORCED_HERE_MAX = 10_000;

/**
 * Ids of the batches this host enforced when it published them. Its enforcement consumer skips
 * those (acknowledged unread) when they come back from the stream; a batch whose local enforcement
 * failed is not listed, so the consumer applies it and retries it as any other.
 */
export class EnforcedHere {
  private readonly ids = new Set<string>();

  constructor(private readonly max = ENFORCED_HERE_MAX) {}

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
  }

  /** True once for an id that was added (and not yet taken or forgotten). */
  take(id: string | undefined): boolean {
    return id !== undefined && this.ids.delete(id);
  }
}

/** This host's enforcement, as DecisionFanout uses it (see createEnforcer). */
export interface EnforceHere {
  /** Enforces groups of decisions; resolves with the indexes of the groups that failed. */
  applyGroups(groups: readonly (readonly BanDecisionV1[])[]): Promise<ReadonlySet<number>>;
  /** Resolves when nothing is being enforced or waiting to be (or after maxMs). */
  idle(maxMs: number): Promise<void>;
}

/**
 * How long a publication waits for this host's firewall to finish what is queued. A mass ban's
 * later chunks are in the kernel sooner when its decisions are encoded and sent afterwards (on two
 * cores the nft transactions and the encoding otherwise slow each other down).
 */
const ENFORCE_FIRST_MS = 500;

/**
 * Publishes decisions twice: as BanDecisionBatch messages, which every host's banner enforces
 * from (awaited: durable when `publish` resolves), and one by one as BanDecision messages for the
 * notifier and other applications, in the background and in order, so a mass ban is in the
 * kernel without waiting for 50,000 single publishes. With `enforceHere`, this host's firewall
 * gets the decisions first, before they go out, instead of after their round trip through the
 * stream (encoding, storing, delivering and decoding 50,000 decisions took seconds of the
 * banner's one thread); `enforced` then tells its consumer which batches to skip.
 */
export class DecisionFanout {
  private queue: { d: BanDecisionV1; ctx: Context; batch: string; json: string }[] = [];
  private draining: Promise<void> | undefined;
  /** publish() calls under way, and who waits for there to be none. */
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  readonly enforced = new EnforcedHere();

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly enforceHere?: EnforceHere,
  ) {}

  /** `contexts[i]` is the trace context decision i is published under (default: the active one). */
  async publish(ds: readonly BanDecisionV1[], contexts?: readonly Context[]): Promise<void> {
    if (ds.length === 0) return;
    this.inFlight++;
    try {
      await this.publishNow(ds, contexts);
    } finally {
      if (--this.inFlight === 0) for (const w of [...this.idleWaiters]) w();
    }
  }

  private async publishNow(ds: readonly BanDecisionV1[], contexts?: readonly Context[]): Promise<void> {
    let enforcedHere = false;
    if (this.enforceHere) {
      try {
        enforcedHere = (await this.enforceHere.applyGroups([ds])).size === 0;
      } catch (e) {
        this.log.warn({ err: describeError(e) }, 'enforcing decisions here failed; they are enforced from the stream');
      }
      // Enforcement first: decisions that reached this banner meanwhile (the next chunks of a mass
      // ban, as the store answers) are enforced before these are encoded and sent.
      await this.enforceHere.idle(ENFORCE_FIRST_MS);
    }
    const batches = planBatches(ds).map((b) => ({ ...b, id: batchId(b.decisions) }));
    if (enforcedHere) for (const b of batches) this.enforced.add(b.id);
    await Promise.all(batches.map((b) => publishDurableEncoded(this.bus, subjectFor(SUBJECTS.decisionBatches, b.jail), encodeBatch(b), b.id)));
    const planned = new Map<BanDecisionV1, { batch: string; json: string }>();
    for (const b of batches) b.decisions.forEach((d, i) => planned.set(d, { batch: b.id, json: b.json[i]! }));
    const active = context.active();
    for (let i = 0; i < ds.length; i++) this.queue.push({ d: ds[i]!, ctx: contexts?.[i] ?? active, ...planned.get(ds[i]!)! });
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
      // Singles give way to decisions being enforced and published (the rest of a mass ban), for a
      // while: under a steady flow of decisions they still go out.
      if (this.inFlight > 0) await this.idle(SINGLES_YIELD_MS);
      const chunk = this.queue.splice(0, SINGLES_PER_FLUSH);
      for (const { d, ctx, batch, json } of chunk) {
        // validated as part of its batch (a batch's decisions are BanDecision.v1 messages)
        const data = utf8.encode(json);
        context.with(ctx, () => publishCoreEncoded(this.bus, subjectFor(SUBJECTS.decisions, d.jail), data, { msgId: d.id, headers: { [BATCHED_HEADER]: batch } }));
      }
      await this.flushWithRetry(chunk.length);
      // let the enforcer and the control handler run between chunks
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Resolves when no publish() is under way, or after maxMs. */
  private idle(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      this.idleWaiters.push(done);
    });
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
