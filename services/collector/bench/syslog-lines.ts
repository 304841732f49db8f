/**
 * Realistic syslog lines of about 100 bytes, each carrying its sequence number as the PID, so a
 * reader can check that every line arrived once and tell which line it is without a lookup table.
 */
const TEMPLATES: readonly ((seq: number, ip: string) => string)[] = [
  (s, ip) => `sshd[${s}]: Failed password for invalid user admin from ${ip} port 51234 ssh2`,
  (s, ip) => `sshd[${s}]: Accepted publickey for deploy from ${ip} port 50022 ssh2: ED25519`,
  (s) => `CRON[${s}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)`,
  (s, ip) => `postfix/smtpd[${s}]: connect from unknown[${ip}] helo=<mail.example.org>`,
  (s, ip) => `nginx[${s}]: ${ip} - - "GET /wp-login.php HTTP/1.1" 404 153 "-" "curl/8.5"`,
];

const PREFIX = 'Nov 22 04:20:24 web-01 ';

export function syslogLine(seq: number): string {
  const ip = `203.0.113.${seq % 250}`;
  return PREFIX + (TEMPLATES[seq % TEMPLATES.length] as (s: number, ip: string) => string)(seq, ip);
}

/** The sequence number a line of syslogLine() carries (its PID), or -1. */
export function seqOf(line: string): number {
  const open = line.indexOf('[', PREFIX.length);
  const close = line.indexOf(']', open);
  if (open === -1 || close === -1) return -1;
  const n = Number(line.slice(open + 1, close));
  return Number.isInteger(n) ? n : -1;
}

/** Lines [from, to) joined with \n, ending with \n. */
export function syslogBlock(from: number, to: number): string {
  const parts: string[] = [];
  for (let i = from; i < to; i++) parts.push(syslogLine(i));
  return parts.length ? `${parts.join('\n')}\n` : '';
}
