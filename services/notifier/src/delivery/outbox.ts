import type { JsMsg } from '@nats-io/jetstream';
import { describeError, extractTrace, sleep, withSpan, type Clock, type Logger, type StreamKey } from '@portcullis/shared';
import type { Target } from '../channels/types.js';
import type { CommonSettings } from '../config/notifier-config.js';
import type { NotifyEvent } from '../content/events.js';
import { buildNotification } from '../content/notification.js';
import type { ReverseDns } from '../reverse-dns.js';
import { DeliveryError } from '../channels/delivery-error.js';
import { backoffDelay } from './backoff.js';
import type { DoneSet } from './done-log.js';
import { RateLimiter } from './rate-limiter.js';

interface Held {
  stream: StreamKey;
  seq: number;
  event: NotifyEvent;
  /** The latest delivery of this message (a redelivery replaces it): the one to ack. */
  msg: JsMsg;
}

export interface OutboxDeps {
  target: Target;
  common: CommonSettings;
  clock: Clock;
  log: Logger;
  done: Readonly<Record<StreamKey, DoneSet | undefined>>;
  reverseDns: ReverseDns | undefined;
}

export interface OutboxStats {
  held: number;
  /** Notifications the receiver accepted. */
  sent: number;
  /** Send attempts that failed (each retried). */
  failures: number;
  /** Redelivered messages found in the done-set: already notified, acked without sending again. */
  duplicatesSkipped: number;
}

/**
 * One target's pending events. Messages stay un-acked in JetStream while held here, so nothing is
 * lost if the process dies; they are acked only after the receiver accepted the notification that
 * covers them, and after that fact is recorded in the done-set. At most one notification leaves per
 * grouping window (and within the rate limit): everything that arrived meanwhile goes out together,
 * as one summary.
 */
export class Outbox {
  private readonly held = new Map<string, Held>();
  private readonly limiter: RateLimiter;
  private lastSentAt = -Infinity;
  private nextAttemptAt = -Infinity;
  private attempt = 0;
  private sending: Promise<void> | undefined;
  private stopping = false;
  private readonly rdnsCache = new Map<string, string | null>();
  readonly stats: OutboxStats = { held: 0, sent: 0, failures: 0, duplicatesSkipped: 0 };

  constructor(private readonly deps: OutboxDeps) {
    this.limiter = new RateLimiter(deps.common.rateLimit);
  }

  get target(): Target {
    return this.deps.target;
  }

  /** Takes one delivered message: acked at once when not for this target or already notified. */
  offer(stream: StreamKey, msg: JsMsg, event: NotifyEvent): void {
    const seq = msg.info.streamSequence;
    const done = this.deps.done[stream];
    if (!this.deps.target.wants(event)) {
      done?.add(seq);
      msg.ack();
      return;
    }
    if (done?.has(seq)) {
      this.stats.duplicatesSkipped++;
      msg.ack();
      return;
    }
    const key = `${stream}:${seq}`;
    const existing = this.held.get(key);
    if (existing) {
      existing.msg = msg;
      return;
    }
    this.held.set(key, { stream, seq, event, msg });
    this.stats.held = this.held.size;
  }

  get size(): number {
    return this.held.size;
  }

  /** When the next notification may leave (the window, a retry delay, the rate limit). */
  dueAt(now: number): number {
    return Math.max(this.lastSentAt + this.deps.common.groupWindowMs, this.nextAttemptAt, this.limiter.allowedAt(now));
  }

  isDue(now: number): boolean {
    return !this.stopping && this.sending === undefined && this.held.size > 0 && now >= this.dueAt(now);
  }

  /** Keeps JetStream from redelivering what is held here while it waits. */
  heartbeat(): void {
    for (const h of this.held.values()) h.msg.working();
  }

  /** Starts a send if one is due; never throws. */
  poll(): void {
    if (!this.isDue(this.deps.clock.now())) return;
    this.exclusive(() => this.flush());
  }

  /**
   * Drops done-set entries at or below each stream's ack floor. Runs between sends, never during
   * one, so a record written by a send is never overwritten by an older one.
   */
  prune(ackFloor: (stream: StreamKey) => Promise<number>): void {
    if (this.stopping || this.sending !== undefined) return;
    this.exclusive(async () => {
      for (const stream of Object.keys(this.deps.done) as StreamKey[]) {
        const done = this.deps.done[stream];
        if (done) await done.prune(await ackFloor(stream));
      }
    });
  }

  private exclusive(task: () => Promise<void>): void {
    this.sending = task()
      .catch((e: unknown) => this.deps.log.error({ target: this.deps.target.label, err: describeError(e) }, 'notifier outbox task failed'))
      .finally(() => {
        this.sending = undefined;
      });
  }

  private async flush(): Promise<void> {
    const { target, common, clock, log } = this.deps;
    const batch = [...this.held.values()].sort((a, b) => a.event.at - b.event.at || a.seq - b.seq);
    const events = batch.map((h) => h.event);
    const reverseDns = await this.lookupReverseDns(events);
    const notification = buildNotification(events, { targetKey: target.key, host: common.host, sampleSize: common.summarySample, windowMs: common.groupWindowMs }, reverseDns);
    try {
      const first = batch[0];
      await withSpan('notifier.deliver', extractTrace(first?.msg.headers), { 'portcullis.target': target.label, 'portcullis.events': events.length }, () =>
        target.send(notification),
      );
    } catch (e) {
      this.attempt++;
      this.stats.failures++;
      const delay = backoffDelay(this.attempt, common.retryMinMs, common.retryMaxMs, e instanceof DeliveryError ? e.retryAfterMs : undefined);
      this.nextAttemptAt = clock.now() + delay;
      log.warn({ target: target.label, events: events.length, attempt: this.attempt, retryInMs: delay, err: describeError(e) }, 'notification not delivered; will retry');
      return;
    }
    const now = clock.now();
    this.attempt = 0;
    this.lastSentAt = now;
    this.limiter.record(now);
    this.stats.sent++;
    for (const h of batch) this.deps.done[h.stream]?.add(h.seq);
    await this.persistDone(batch);
    for (const h of batch) {
      const key = `${h.stream}:${h.seq}`;
      this.held.get(key)?.msg.ack();
      this.held.delete(key);
    }
    this.stats.held = this.held.size;
    log.info({ target: target.label, kind: notification.kind, events: events.length, id: notification.id }, 'notification delivered');
  }

  /** The done-set must be stored before the acks: retried until it is, unless stopping. */
  private async persistDone(batch: readonly Held[]): Promise<void> {
    const streams = new Set(batch.map((h) => h.stream));
    for (let attempt = 1; ; attempt++) {
      try {
        for (const s of streams) await this.deps.done[s]?.persist();
        return;
      } catch (e) {
        if (this.stopping) {
          this.deps.log.warn({ target: this.deps.target.label, err: describeError(e) }, 'stopping before the sent-record was stored: these events may be notified again');
          return;
        }
        this.deps.log.warn({ target: this.deps.target.label, attempt, err: describeError(e) }, 'cannot record a delivered notification yet; retrying');
        await sleep(Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  private async lookupReverseDns(events: readonly NotifyEvent[]): Promise<string | null | undefined> {
    const only = events.length === 1 ? events[0] : undefined;
    if (!only || only.type !== 'ban' || !this.deps.reverseDns) return undefined;
    const ip = only.decision.ip;
    // A retry after a failed send does not wait on DNS again.
    if (this.rdnsCache.has(ip)) return this.rdnsCache.get(ip);
    const name = await this.deps.reverseDns(ip);
    this.rdnsCache.clear();
    this.rdnsCache.set(ip, name);
    return name;
  }

  /**
   * Waits for a send in progress, then hands every held message back to JetStream (nak), so
   * another notifier (or this one restarted) picks them up at once instead of after ack_wait.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.sending;
    for (const h of this.held.values()) h.msg.nak();
    this.held.clear();
  }
}
