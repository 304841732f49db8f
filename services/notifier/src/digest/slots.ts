import type { DigestTime } from '../config/notifier-config.js';

/**
 * Digest times are local wall-clock times. Slots are computed with the Date's local setters, so a
 * day with a daylight-saving change is 23 or 25 hours long and the digest still leaves at 08:00.
 */

/** The latest digest time at or before `now`. */
export function slotAtOrBefore(now: number, t: DigestTime): number {
  const d = new Date(now);
  d.setHours(t.hour, t.minute, t.second, 0);
  if (d.getTime() > now) {
    d.setDate(d.getDate() - 1);
    d.setHours(t.hour, t.minute, t.second, 0);
  }
  return d.getTime();
}

export function nextSlot(slot: number, t: DigestTime): number {
  const d = new Date(slot);
  d.setDate(d.getDate() + 1);
  d.setHours(t.hour, t.minute, t.second, 0);
  return d.getTime();
}

export function previousSlot(slot: number, t: DigestTime): number {
  const d = new Date(slot);
  d.setDate(d.getDate() - 1);
  d.setHours(t.hour, t.minute, t.second, 0);
  return d.getTime();
}

/** YYYY-MM-DD of the local date. */
export function localDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
