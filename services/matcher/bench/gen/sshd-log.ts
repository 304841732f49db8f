import type { GenLine, Step } from './interleave.js';
import { interleave, PidPool, syslogStamp } from './interleave.js';
import { Rng, weighted } from './rng.js';

/**
 * A Debian auth.log of an internet-facing host: logins by its users (keys, a mistyped key first),
 * cron and sudo sessions, systemd-logind, and the background noise of scanners and password
 * guessers (invalid users, root guesses, pre-auth disconnects, old key exchanges). Failures by
 * fail2ban's stock sshd filter (mode normal) are about 5% of the lines.
 */
const USERS = ['alice', 'bob', 'deploy', 'carol', 'backup'];
const GUESSES = ['admin', 'test', 'user', 'oracle', 'ubuntu', 'postgres', 'git', 'ftpuser', 'guest', 'pi', 'support', 'dev', 'hadoop', 'minecraft', 'steam', 'jenkins'];
const CRON_CMDS = ['[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi', 'cd / && run-parts --report /etc/cron.hourly', '/usr/local/bin/backup.sh >/dev/null 2>&1', 'test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )'];
const KEX = ['diffie-hellman-group1-sha1,diffie-hellman-group14-sha1', 'diffie-hellman-group-exchange-sha1'];

export function sshdLog(seed: number, start: number): Generator<GenLine, never> {
  const rng = new Rng(seed);
  const pids = new PidPool(rng);
  const host = 'web1';
  let session = 100;
  const line = (prog: string, msg: string) => (ms: number) => `${syslogStamp(ms)} ${host} ${prog}: ${msg}`;
  const port = () => rng.int(1024, 65535);
  const key = () => `ED25519 SHA256:${rng.token(43, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')}`;
  const done = (steps: Step[], pid: number): Step[] => {
    const last = steps[steps.length - 1] as Step;
    const render = last.line;
    steps[steps.length - 1] = { ...last, line: (ms) => (pids.release(pid), render(ms)) };
    return steps;
  };

  const episodes = {
    login: (): Step[] => {
      const pid = pids.take();
      const user = rng.pick(USERS);
      const ip = rng.ip();
      const p = port();
      const s = session++;
      const sshd = `sshd[${pid}]`;
      const steps: Step[] = [];
      if (rng.chance(0.2)) steps.push({ line: line(sshd, `Failed publickey for ${user} from ${ip} port ${p} ssh2: RSA SHA256:${rng.token(43)}`) });
      steps.push(
        { line: line(sshd, `Accepted publickey for ${user} from ${ip} port ${p} ssh2: ${key()}`) },
        { line: line(sshd, `pam_unix(sshd:session): session opened for user ${user}(uid=1000) by (uid=0)`) },
        { line: line('systemd-logind[412]', `New session ${s} of user ${user}.`) },
        { line: line('systemd[1]', `Started session-${s}.scope - Session ${s} of User ${user}.`) },
        { line: line(sshd, `Received disconnect from ${ip} port ${p}:11: disconnected by user`) },
        { line: line(sshd, `Disconnected from user ${user} ${ip} port ${p}`) },
        { line: line(sshd, `pam_unix(sshd:session): session closed for user ${user}`) },
        { line: line('systemd-logind[412]', `Session ${s} logged out. Waiting for processes to exit.`) },
        { line: line('systemd-logind[412]', `Removed session ${s}.`) },
      );
      return done(steps, pid);
    },
    cron: (): Step[] => {
      const pid = pids.take();
      const cron = `CRON[${pid}]`;
      return done(
        [
          { line: line(cron, 'pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)') },
          { line: line(cron, `(root) CMD (${rng.pick(CRON_CMDS)})`) },
          { line: line(cron, 'pam_unix(cron:session): session closed for user root') },
        ],
        pid,
      );
    },
    sudo: (): Step[] => {
      const user = rng.pick(USERS);
      const cmd = rng.pick(['/usr/bin/systemctl restart nginx', '/usr/bin/apt update', '/usr/bin/journalctl -u ssh', '/usr/bin/tail -f /var/log/auth.log']);
      return [
        { line: line('sudo', `   ${user} : TTY=pts/${rng.int(0, 3)} ; PWD=/home/${user} ; USER=root ; COMMAND=${cmd}`) },
        { line: line('sudo', `pam_unix(sudo:session): session opened for user root(uid=0) by ${user}(uid=1000)`) },
        { line: line('sudo', 'pam_unix(sudo:session): session closed for user root') },
      ];
    },
    invalidUser: (): Step[] => {
      const pid = pids.take();
      const user = rng.pick(GUESSES);
      const ip = rng.ip();
      const p = port();
      const sshd = `sshd[${pid}]`;
      return done(
        [
          { line: line(sshd, `Invalid user ${user} from ${ip} port ${p}`), failure: true },
          { line: line(sshd, 'pam_unix(sshd:auth): check pass; user unknown') },
          { line: line(sshd, `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}`) },
          { line: line(sshd, `Failed password for invalid user ${user} from ${ip} port ${p} ssh2`), failure: true },
          { line: line(sshd, `Received disconnect from ${ip} port ${p}:11: Bye Bye [preauth]`) },
          { line: line(sshd, `Disconnected from invalid user ${user} ${ip} port ${p} [preauth]`) },
        ],
        pid,
      );
    },
    rootGuess: (): Step[] => {
      const pid = pids.take();
      const ip = rng.ip();
      const p = port();
      const sshd = `sshd[${pid}]`;
      return done(
        [
          { line: line(sshd, `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}  user=root`) },
          { line: line(sshd, `Failed password for root from ${ip} port ${p} ssh2`), failure: true },
          { line: line(sshd, `Connection closed by authenticating user root ${ip} port ${p} [preauth]`) },
        ],
        pid,
      );
    },
    scanner: (): Step[] => {
      const pid = pids.take();
      const ip = rng.ip();
      const sshd = `sshd[${pid}]`;
      const steps: Step[] = [];
      if (rng.chance(0.5)) steps.push({ line: line(sshd, 'error: kex_exchange_identification: Connection closed by remote host') });
      steps.push({ line: line(sshd, `Connection closed by ${ip} port ${port()}${rng.chance(0.7) ? ' [preauth]' : ''}`) });
      return done(steps, pid);
    },
    oldClient: (): Step[] => {
      const pid = pids.take();
      return done([{ line: line(`sshd[${pid}]`, `Unable to negotiate with ${rng.ip()} port ${port()}: no matching key exchange method found. Their offer: ${rng.pick(KEX)} [preauth]`) }], pid);
    },
  };
  const table = [
    ['login', 9],
    ['cron', 14],
    ['sudo', 3],
    ['invalidUser', 2.6],
    ['rootGuess', 3],
    ['scanner', 6],
    ['oldClient', 2],
  ] as const;
  return interleave(rng, { start, concurrency: 24, meanGapMs: 60, newEpisode: () => episodes[weighted(rng, table)]() });
}
