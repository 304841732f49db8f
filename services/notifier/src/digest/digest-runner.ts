import type { KV } from '@nats-io/kv';
import { describeError, sleep, type Bus, type Clock, type Logger } from '@portcullis/shared';
import type { Target } from '../channels/types.js';
import { DeliveryError } from '../channels/delivery-error.js';
import type { CommonSettings, DigestTime } from '../config/notifier-config.js';
import { notificationId } from '../content/notification.js';
import { backoffDelay } from '../delivery/backoff.js';
import { readPeriod } from './read-period.js';
import { DigestAccumulator, type DigestReport } from './report.js';
import { localDate, nextSlot, previousSlot, slotAtOrBefore } from './slots.js';

/** A digest missed while the notifier was down is still sent if it starts within this long. */
export const DIGEST_CATCH_UP_MS = 12 * 3600 * 1000;

export interface DigestRunnerDeps {
  bus: Bus;
  kv: KV;
  clock: Clock;
  log: Logger;
  common: CommonSettings;
  time: DigestTime;
  /** Targets that want the digest, with their stable ids. */
  targets: readonly { id: string; target: Target }[];
}

/**
 * Sends the daily digest at the configured local time to each target once: a KV mark per target
 * and date says it was accepted, so a restart neither skips nor repeats it. Each target is retried
 * with backoff until it accepts, or until the next digest is due.
 */
export class DigestRunner {
  private next: number;
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly deps: DigestRunnerDeps) {
    const now = deps.clock.now();
    const last = slotAtOrBefore(now, deps.time);
    this.next = now - last <= DIGEST_CATCH_UP_MS ? last : nextSlot(last, deps.time);
  }

  /** The next digest time not yet started. */
  get nextAt(): number {
    return this.next;
  }

  tick(): void {
    if (this.stopping || this.running || this.deps.clock.now() < this.next) return;
    const slot = this.next;
    this.next = nextSlot(slot, this.deps.time);
    this.running = this.run(slot)
      .catch((e: unknown) => this.deps.log.error({ err: describeError(e) }, 'daily digest failed'))
      .finally(() => {
        this.running = undefined;
      });
  }

  private async run(slot: number): Promise<void> {
    const { log, common } = this.deps;
    const date = localDate(slot);
    const giveUpAt = nextSlot(slot, this.deps.time);
    // NATS may be away at digest time: keep trying (the day's digest is not skipped for that).
    let prepared: Awaited<ReturnType<DigestRunner['prepare']>> | undefined;
    for (let attempt = 1; !prepared && !this.stopping && this.deps.clock.now() < giveUpAt; attempt++) {
      try {
        prepared = await this.prepare(slot, date);
      } catch (e) {
        const delay = backoffDelay(attempt, common.retryMinMs, common.retryMaxMs);
        log.warn({ date, attempt, retryInMs: delay, err: describeError(e) }, 'cannot build the daily digest yet; retrying');
        await this.pause(delay);
      }
    }
    if (!prepared) return;
    const { pending, digest } = prepared;
    await Promise.all(
      pending.map(async ({ target, mark }) => {
        const notification = { kind: 'digest' as const, id: notificationId(target.key, [`digest:${date}`]), host: common.host, digest };
        for (let attempt = 1; !this.stopping && this.deps.clock.now() < giveUpAt; attempt++) {
          try {
            await target.send(notification);
          } catch (e) {
            const delay = backoffDelay(attempt, common.retryMinMs, common.retryMaxMs, e instanceof DeliveryError ? e.retryAfterMs : undefined);
            log.warn({ target: target.label, date, attempt, retryInMs: delay, err: describeError(e) }, 'daily digest not delivered; will retry');
            await this.pause(delay);
            continue;
          }
          log.info({ target: target.label, date, bans: digest.bans }, 'daily digest delivered');
          await this.markSent(mark, notification.id);
          return;
        }
      }),
    );
  }

  /** The targets still owed this date's digest, and the digest (read from the streams) if any are. */
  private async prepare(slot: number, date: string): Promise<{ pending: { target: Target; mark: string }[]; digest: DigestReport }> {
    const pending: { target: Target; mark: string }[] = [];
    for (const t of this.deps.targets) {
      const mark = `digest.${t.id}.${date}`;
      const entry = await this.deps.kv.get(mark);
      if (entry?.operation !== 'PUT') pending.push({ target: t.target, mark });
    }
    const from = previousSlot(slot, this.deps.time);
    const acc = new DigestAccumulator(date, from, slot);
    if (pending.length > 0) await readPeriod(this.deps.bus, acc, from, slot);
    return { pending, digest: acc.report() };
  }

  /** Records the digest as sent; retried apart from the send so a KV hiccup never mails it twice. */
  private async markSent(mark: string, id: string): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await this.deps.kv.put(mark, JSON.stringify({ sentAt: this.deps.clock.now(), id }));
        return;
      } catch (e) {
        this.deps.log.warn({ mark, attempt, err: describeError(e) }, 'cannot record the digest as sent yet; retrying');
        await this.pause(Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** Sleeps in short steps so stop() is not held up by a long backoff. */
  private async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopping && Date.now() < until) await sleep(Math.min(200, until - Date.now()));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }
}
