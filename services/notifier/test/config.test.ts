import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPortcullisError, loadConfig, type PortcullisError } from '@portcullis/shared';
import { loadNotifierConfig, type NotifierConfig } from '../src/index.js';
import type { EmailConfig } from '../src/channels/email/config.js';
import { mayReceive, recipientsFor, senderFor } from '../src/channels/email/routing.js';
import { buildNotification } from '../src/content/notification.js';
import { decisionEvent } from '../src/content/events.js';
import { ban, configDir, HOST, SSHD_JAIL } from './helpers/world.js';

function load(files: Record<string, string>, env: Record<string, string> = {}): NotifierConfig {
  const cfg = configDir({ 'jail.local': SSHD_JAIL, ...files });
  try {
    return loadNotifierConfig(loadConfig(cfg.dir, { hostName: HOST }), { env });
  } finally {
    cfg.cleanup();
  }
}

function loadError(files: Record<string, string>, env: Record<string, string> = {}): PortcullisError {
  try {
    load(files, env);
  } catch (e) {
    if (isPortcullisError(e)) return e;
    throw e;
  }
  throw new Error('expected a configuration error');
}

function email(c: NotifierConfig): EmailConfig {
  const ch = c.channels.find((x) => x.name === 'email');
  expect(ch).toBeDefined();
  return ch?.config as EmailConfig;
}

describe('[notifier] configuration', () => {
  it('without a [notifier] section nothing is configured and the defaults hold', () => {
    const c = load({});
    expect(c.channels).toEqual([]);
    expect(c.common).toMatchObject({ groupWindowMs: 60_000, rateLimit: { count: 30, periodMs: 3_600_000 }, summarySample: 20, ackWaitMs: 30_000, digestTime: undefined });
  });

  it('reads every e-mail option, with SMTP defaults that follow the port', () => {
    const c = load({
      'portcullis.local': `[notifier]
smtp_host = mail.example.org
smtp_secure = true
recipients = ops@example.org, Sec@Example.org
ban_recipients = bans@example.org
email_events = ban, flood
group_window = 2m
rate_limit = 10/15m
digest_time = 07:30
`,
    });
    const e = email(c);
    expect(e.smtp).toMatchObject({ host: 'mail.example.org', port: 465, secure: true, starttls: 'auto', tlsVerify: true, timeoutMs: 30_000 });
    expect(e.recipients).toEqual(['ops@example.org', 'Sec@example.org']);
    expect(e.byType.ban).toEqual(['bans@example.org']);
    expect(e.events).toEqual(['ban', 'flood']);
    expect(e.sender).toEqual({ address: 'portcullis@testhost', name: 'Portcullis' });
    expect(c.common.groupWindowMs).toBe(120_000);
    expect(c.common.rateLimit).toEqual({ count: 10, periodMs: 900_000 });
    expect(c.common.digestTime).toEqual({ hour: 7, minute: 30, second: 0 });
    expect(Object.isFrozen(c) && Object.isFrozen(e) && Object.isFrozen(e.recipients)).toBe(true);
  });

  it('errors name the file and line of the bad value', () => {
    const conf = '[notifier]\nrecipients = ops@example.org\nsmtp_port = 99999\n';
    const e = loadError({ 'portcullis.local': conf });
    expect(e.code).toBe('PC_CONFIG_INVALID');
    expect(e.location?.line).toBe(3);
    expect(e.location?.file).toMatch(/portcullis\.local$/);
    expect(e.message).toMatch(/smtp_port must be an integer from 1 to 65535/);
  });

  it.each([
    ['smtp_hots = x', /unknown option smtp_hots \(did you mean smtp_host\?\)/],
    ['smtp_password = hunter2', /cannot be written in the config: put it in a file \(smtp_password_file\)/],
    ['recipients = not-an-address', /"not-an-address" is not an e-mail address/],
    ['recipients = a@example.org\nsmtp_starttls = maybe', /smtp_starttls must be auto, require or off/],
    ['recipients = a@example.org\nsmtp_user = u', /smtp_user is set but no password/],
    ['recipients = a@example.org\nrate_limit = lots', /rate_limit "lots" must be COUNT\/PERIOD/],
    ['recipients = a@example.org\ndigest_time = 25:00', /digest_time "25:00" must be a local time HH:MM/],
    ['recipients = a@example.org\nemail_events = ban, reboot', /unknown event type "reboot"/],
    ['webhook_urls = https://hooks.example.org/x', /no signing key: set webhook_secret_file or webhook_secret_env/],
    ['webhook_urls = ftp://hooks.example.org/x\nwebhook_secret_env = K', /is not an http:\/\/ or https:\/\/ URL/],
    ['recipients = a@example.org\nsmtp_user = u\nsmtp_password_env = NOPE', /environment variable NOPE is not set/],
    ['group_window = 10 parsecs', /group_window "10 parsecs" is invalid/],
  ])('refuses %j', (body, message) => {
    const e = loadError({ 'portcullis.local': `[notifier]\n${body}\n` });
    expect(e.code).toBe('PC_CONFIG_INVALID');
    expect(e.message).toMatch(message);
    expect(e.location?.file).toMatch(/portcullis\.local$/);
    expect(e.location?.line).toBeGreaterThanOrEqual(1);
  });

  it('secrets come from a file or an environment variable, never both', () => {
    const cfg = configDir({ 'jail.local': SSHD_JAIL });
    try {
      const pass = path.join(cfg.dir, 'pass');
      writeFileSync(pass, 'from-file\n');
      chmodSync(pass, 0o644);
      writeFileSync(path.join(cfg.dir, 'portcullis.local'), `[notifier]\nrecipients = a@example.org\nsmtp_user = u\nsmtp_password_file = ${pass}\n`);
      const c = loadNotifierConfig(loadConfig(cfg.dir, { hostName: HOST }), { env: {} });
      expect(email(c).smtp.password).toBe('from-file');
      expect(c.warnings.join('\n')).toMatch(/readable by group or others: chmod 600/);
      writeFileSync(path.join(cfg.dir, 'portcullis.local'), `[notifier]\nrecipients = a@example.org\nsmtp_user = u\nsmtp_password_file = ${pass}\nsmtp_password_env = P\n`);
      expect(() => loadNotifierConfig(loadConfig(cfg.dir, { hostName: HOST }), { env: { P: 'x' } })).toThrow(/set either smtp_password_file or smtp_password_env, not both/);
    } finally {
      cfg.cleanup();
    }
  });
});

describe('fail2ban mail actions become per-jail routes', () => {
  const stock = `[DEFAULT]
destemail = root@localhost
sender = root@<fq-hostname>
mta = sendmail
protocol = tcp
chain = INPUT
action_ = %(banaction)s[name=%(__name__)s, port="%(port)s", protocol="%(protocol)s"]
action_mw = %(action_)s
            %(mta)s-whois[sender="%(sender)s", dest="%(destemail)s", protocol="%(protocol)s", chain="%(chain)s"]
action_mwl = %(action_)s
             %(mta)s-whois-lines[sender="%(sender)s", dest="%(destemail)s", logpath="%(logpath)s", chain="%(chain)s"]

[sshd]
enabled = true
logpath = /var/log/auth.log
action = %(action_mw)s

[nginx-http-auth]
enabled = true
logpath = /var/log/nginx/error.log
destemail = web@example.org, webops@example.org
action = %(action_mwl)s

[postfix]
enabled = true
logpath = /var/log/mail.log
action = sendmail-buffered[name=postfix, sendername="Mail Guard"]

[dovecot]
enabled = false
logpath = /var/log/mail.log
action = mail-whois[dest=never@example.org]
`;

  it("a stock jail.conf's %(action_mw)s and %(action_mwl)s map dest and sender; other jails use [notifier]", () => {
    const c = load({ 'jail.local': stock, 'portcullis.local': '[notifier]\nrecipients = ops@example.org\nflood_recipients = noc@example.org\n' });
    const e = email(c);
    expect(e.jails['sshd']).toEqual({ recipients: ['root@localhost'], sender: { address: 'root@testhost' } });
    expect(e.jails['nginx-http-auth']?.recipients).toEqual(['web@example.org', 'webops@example.org']);
    expect(e.jails['postfix']).toBeUndefined(); // no dest, no sender: falls through to [notifier]
    expect(e.jails['dovecot']).toBeUndefined(); // disabled

    const sshdBan = decisionEvent(ban({ jail: 'sshd' }));
    const postfixBan = decisionEvent(ban({ jail: 'postfix' }));
    expect(recipientsFor(e, sshdBan)).toEqual(['root@localhost']);
    expect(recipientsFor(e, postfixBan)).toEqual(['ops@example.org']);
    expect(recipientsFor(e, decisionEvent(ban({ jail: '__proto__' })))).toEqual(['ops@example.org']);
    expect(recipientsFor(e, { type: 'digest' })).toEqual(['ops@example.org']);
    expect(mayReceive(e, 'flood', 'noc@example.org')).toBe(true);
    expect(mayReceive(e, 'ban', 'noc@example.org')).toBe(false);
    expect(mayReceive(e, 'ban', 'root@localhost')).toBe(true);
    expect(mayReceive(e, 'flood', 'root@localhost')).toBe(false);

    // From: is the jail's sender only when every event of the mail comes from that jail.
    const opts = { targetKey: 'email:root@localhost', host: HOST, sampleSize: 20, windowMs: 1000 };
    expect(senderFor(e, buildNotification([sshdBan], opts))).toEqual({ address: 'root@testhost' });
    expect(senderFor(e, buildNotification([sshdBan, postfixBan], opts))).toEqual(e.sender);
  });

  it('a jail with a mail action but no dest, and no [notifier] recipients, is an error at the jail', () => {
    const e = loadError({ 'jail.local': `${SSHD_JAIL}action = sendmail[name=sshd]\n` });
    expect(e.message).toMatch(/jail \[sshd\] uses sendmail without dest=/);
  });

  it('a dest that is not an address is refused with the jail file and line', () => {
    const e = loadError({ 'jail.local': `\n\n${SSHD_JAIL}action = sendmail-whois[name=sshd, dest=root]\n` });
    expect(e.message).toMatch(/jail \[sshd\], action sendmail-whois: dest "root" is not an e-mail address/);
    expect(e.location?.file).toMatch(/jail\.local$/);
    expect(e.location?.line).toBe(3);
  });
});
