import type { GenLine, Step } from './interleave.js';
import { interleave, PidPool, syslogStamp } from './interleave.js';
import { Rng, weighted } from './rng.js';

/**
 * A mail server's mail.log: Postfix (smtpd sessions, queue manager, local delivery, rejected
 * relaying and unknown recipients, SASL guessing) and Dovecot (IMAP/POP3 logins and logouts,
 * failed logins). Failures by fail2ban's stock postfix (mode more) and dovecot filters are about
 * 5% of the lines.
 */
const DOMAINS = ['example.org', 'example.net', 'example.com'];
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const SPAMMERS = ['promo', 'info', 'sales', 'noreply', 'admin'];

export function mailLog(seed: number, start: number): Generator<GenLine, never> {
  const rng = new Rng(seed);
  const pids = new PidPool(rng);
  const host = 'mx1';
  const line = (prog: string, msg: string) => (ms: number) => `${syslogStamp(ms)} ${host} ${prog}: ${msg}`;
  const qid = () => rng.token(10, '0123456789ABCDEF');
  const sess = () => rng.token(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  const addr = () => `${rng.pick(USERS)}@${DOMAINS[0]}`;
  const smtpd = () => `postfix/smtpd[${pids.take()}]`;

  const episodes = {
    delivery: (): Step[] => {
      const d = smtpd();
      const ip = rng.ip();
      const client = `mail-${rng.token(6)}.${rng.pick(DOMAINS.slice(1))}[${ip}]`;
      const q = qid();
      const to = addr();
      return [
        { line: line(d, `connect from ${client}`) },
        { line: line(d, `Anonymous TLS connection established from ${client}: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)`) },
        { line: line(d, `${q}: client=${client}`) },
        { line: line(`postfix/cleanup[${rng.int(900, 999)}]`, `${q}: message-id=<${rng.token(20)}@${rng.pick(DOMAINS)}>`) },
        { line: line('postfix/qmgr[811]', `${q}: from=<${rng.token(6)}@${rng.pick(DOMAINS.slice(1))}>, size=${rng.int(800, 90000)}, nrcpt=1 (queue active)`) },
        { line: line(d, `disconnect from ${client} ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7`) },
        { line: line(`postfix/local[${rng.int(1000, 1999)}]`, `${q}: to=<${to}>, relay=local, delay=0.${rng.int(10, 99)}, delays=0.1/0.01/0/0.02, dsn=2.0.0, status=sent (delivered to mailbox)`) },
        { line: line('postfix/qmgr[811]', `${q}: removed`) },
      ];
    },
    relay: (): Step[] => {
      const d = smtpd();
      const ip = rng.ip();
      const client = `unknown[${ip}]`;
      return [
        { line: line(d, `connect from ${client}`) },
        { line: line(d, `NOQUEUE: reject: RCPT from ${client}: 554 5.7.1 <${rng.token(8)}@${rng.pick(['example.biz', 'example.info'])}>: Relay access denied; from=<${rng.pick(SPAMMERS)}@example.info> to=<${rng.token(8)}@example.biz> proto=ESMTP helo=<${rng.token(6)}>`), failure: true },
        { line: line(d, `disconnect from ${client} ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4`) },
      ];
    },
    unknownUser: (): Step[] => {
      const d = smtpd();
      const client = `unknown[${rng.ip()}]`;
      return [
        { line: line(d, `connect from ${client}`) },
        { line: line(d, `NOQUEUE: reject: RCPT from ${client}: 550 5.1.1 <${rng.token(7)}@${DOMAINS[0]}>: Recipient address rejected: User unknown in local recipient table; from=<${rng.pick(SPAMMERS)}@example.info> to=<${rng.token(7)}@${DOMAINS[0]}> proto=ESMTP helo=<${rng.token(6)}>`), failure: true },
        { line: line(d, `disconnect from ${client} ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4`) },
      ];
    },
    saslGuess: (): Step[] => {
      // Not a failure for the stock postfix filter in its default mode (more): noise it must skip.
      const d = smtpd();
      const client = `unknown[${rng.ip()}]`;
      return [
        { line: line(d, `connect from ${client}`) },
        { line: line(d, `warning: ${client}: SASL LOGIN authentication failed: UGFzc3dvcmQ6`) },
        { line: line(d, `lost connection after AUTH from ${client}`) },
        { line: line(d, `disconnect from ${client} ehlo=1 auth=0/1 commands=1/2`) },
      ];
    },
    imapLogin: (): Step[] => {
      const u = addr();
      const ip = rng.ip();
      const pid = rng.int(2000, 60000);
      const s = sess();
      const proto = rng.pick(['imap', 'imap', 'pop3']);
      return [
        { line: line('dovecot', `${proto}-login: Login: user=<${u}>, method=PLAIN, rip=${ip}, lip=203.0.113.25, mpid=${pid}, TLS, session=<${s}>`) },
        { line: line('dovecot', `${proto}(${u})<${pid}><${s}>: Logged out in=${rng.int(100, 9999)} out=${rng.int(100, 99999)} deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0`) },
      ];
    },
    imapFail: (): Step[] => {
      const ip = rng.ip();
      const u = `${rng.pick([...USERS, ...SPAMMERS])}@${DOMAINS[0]}`;
      return [
        { line: line('dovecot', `auth-worker(${rng.int(2000, 9000)}): pam(${u},${ip},<${sess()}>): pam_authenticate() failed: Authentication failure (password mismatch?)`), failure: true },
        { line: line('dovecot', `imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<${u}>, method=PLAIN, rip=${ip}, lip=203.0.113.25, TLS, session=<${sess()}>`), failure: true },
      ];
    },
  };
  const table = [
    ['delivery', 14],
    ['relay', 2.4],
    ['unknownUser', 2],
    ['saslGuess', 2],
    ['imapLogin', 18],
    ['imapFail', 1.8],
  ] as const;
  const gen = interleave(rng, { start, concurrency: 16, meanGapMs: 80, newEpisode: () => episodes[weighted(rng, table)]() });
  return gen;
}
