import { textOf, type ReceivedMail } from './smtp-sink.js';

/** How many mails mention `ip` (as a whole address, not as a prefix of another). */
export function mailsMentioning(mails: readonly ReceivedMail[], ip: string): number {
  const re = new RegExp(`(?<![\\d.])${ip.replace(/\./g, '\\.')}(?![\\d])`);
  return mails.filter((m) => re.test(textOf(m))).length;
}

/** Events a set of mails stands for: a summary counts its X-Portcullis-Count, a single mail one. */
export function eventsIn(mails: readonly ReceivedMail[]): number {
  return mails.reduce((n, m) => n + Number(m.parsed.headers.get('x-portcullis-count') ?? 1), 0);
}
