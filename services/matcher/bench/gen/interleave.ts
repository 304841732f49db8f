import type { Rng } from './rng.js';

/** One line of an episode, rendered once its time is known. */
export type LineFn = (ms: number) => string;

/** What a generator yields: the line and whether it is, by construction, one failure. */
export interface GenLine {
  text: string;
  failure: boolean;
}

export interface Step {
  line: LineFn;
  failure?: boolean;
}

export interface InterleaveOptions {
  /** Epoch ms of the first line. */
  start: number;
  /** Episodes in progress at once (their lines interleave, as a busy server's do). */
  concurrency: number;
  /** Mean time between two lines. */
  meanGapMs: number;
  newEpisode: () => Step[];
}

/**
 * Interleaves episodes (a login, a brute-force attempt, a cron run...) line by line, with time
 * moving forward by random gaps. Infinite: the caller takes as many lines as it wants.
 */
export function* interleave(rng: Rng, opts: InterleaveOptions): Generator<GenLine, never> {
  const active: Step[][] = [];
  let t = opts.start;
  for (;;) {
    while (active.length < opts.concurrency) active.push(opts.newEpisode());
    const i = Math.floor(rng.next() * active.length);
    const ep = active[i] as Step[];
    const step = ep.shift();
    if (ep.length === 0) {
      active[i] = active[active.length - 1] as Step[];
      active.pop();
    }
    if (!step) continue;
    t += Math.floor(-Math.log(1 - rng.next()) * opts.meanGapMs);
    yield { text: step.line(t), failure: step.failure === true };
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** BSD syslog stamp "Mar  1 10:00:00" (UTC). */
export function syslogStamp(ms: number): string {
  const d = new Date(ms);
  const day = d.getUTCDate();
  return `${MONTHS[d.getUTCMonth()]} ${day < 10 ? ` ${day}` : day} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** Common log format stamp "01/Mar/2026:10:00:00 +0000" (UTC). */
export function clfStamp(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
}

/** Process ids not currently in use by another episode of the same generator. */
export class PidPool {
  private readonly used = new Set<number>();
  private last = 0;

  constructor(private readonly rng: Rng) {}

  take(): number {
    for (;;) {
      // Linux hands out increasing pids; jump ahead by a little, wrap like pid_max does.
      this.last = ((this.last + this.rng.int(1, 40)) % 4_000_000) + 1;
      if (this.last < 300) continue;
      if (!this.used.has(this.last)) {
        this.used.add(this.last);
        return this.last;
      }
    }
  }

  release(pid: number): void {
    this.used.delete(pid);
  }
}
