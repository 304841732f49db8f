#!/usr/bin/env node
import { Command, Option } from 'commander';
import { DEFAULT_CONFIG_DIR, DEFAULT_STATE_DIR, describeError } from '@portcullis/shared/client';
import { banCommand, unbanCommand } from './commands/ban.js';
import type { regexCommand } from './commands/regex.js';
import { statusCommand } from './commands/status.js';
import { auditCommand, trustCommand, trustedCommand, untrustCommand, type AuditOptions } from './commands/trust.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

const program = new Command('portcullis')
  .description('Distributed intrusion prevention: fail2ban-compatible jails, fleet-wide bans over NATS.')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander's own usage errors: status 2, like every other usage error.
    process.exit(err.exitCode === 0 ? 0 : EXIT.USAGE);
  });

const withLocation = (cmd: Command) =>
  cmd
    .addOption(new Option('-c, --config <dir>', 'configuration directory (jail.conf, jail.local, jail.d/, filter.d/, action.d/)').default(DEFAULT_CONFIG_DIR))
    .addOption(new Option('-s, --state <dir>', 'state directory (local NATS/Redis data, read positions, runtime.json)').default(DEFAULT_STATE_DIR));

const run = (fn: () => Promise<number | void>) => async () => {
  try {
    const code = await fn();
    if (typeof code === 'number') process.exitCode = code;
  } catch (e) {
    process.stderr.write(`portcullis: ${describeError(e)}\n`);
    process.exitCode = exitCodeFor(e);
  }
};

withLocation(program.command('up'))
  .description('run every service of this host in one process (starts local nats-server and redis-server when no URLs are configured)')
  .option('--from-start', 'on first start, read existing log files from their beginning instead of their end')
  .action((opts: { config: string; state: string; fromStart?: boolean }) =>
    run(async () => {
      // Loaded on demand: the stack pulls in every service, which the other commands do not need.
      const { upCommand } = await import('./commands/up.js');
      await upCommand(opts);
    })(),
  );

withLocation(program.command('status'))
  .description('jails, or one jail: currently failed and banned counts and addresses (like fail2ban-client status)')
  .argument('[jail]', 'jail name')
  .option('--json', 'print JSON instead of text')
  .action((jail: string | undefined, opts: { config: string; state: string; json?: boolean }) => run(() => statusCommand(jail, opts))());

withLocation(program.command('ban'))
  .description('ban addresses in a jail on every host')
  .argument('<jail>', 'jail name')
  .argument('<ip...>', 'IPv4 or IPv6 addresses')
  .option('--bantime <time>', "ban time (600, 10m, 1h, 1d, -1 = permanent); default: the jail's bantime")
  .option('--by <who>', 'recorded in the audit log as who asked')
  .action((jail: string, ips: string[], opts: { config: string; state: string; bantime?: string; by?: string }) => run(() => banCommand(jail, ips, opts))());

withLocation(program.command('unban'))
  .description('unban addresses in one jail, or in every jail when no jail is given')
  .argument('<words...>', '[jail] ip...')
  .option('--by <who>', 'recorded in the audit log as who asked')
  .action((words: string[], opts: { config: string; state: string; by?: string }) => run(() => unbanCommand(words, opts))());

withLocation(program.command('trust'))
  .description('move to trusted: unban an address or CIDR range in every jail on every host and never ban it again')
  .argument('<entry>', 'IPv4/IPv6 address or CIDR range')
  .option('--by <who>', 'recorded in the audit log as who asked')
  .action((entry: string, opts: { config: string; state: string; by?: string }) => run(() => trustCommand(entry, opts))());

withLocation(program.command('untrust'))
  .description('remove an entry from the fleet-wide trusted list (ignoreip in the config is not affected)')
  .argument('<entry>', 'the address or CIDR range as trusted')
  .option('--by <who>', 'recorded in the audit log as who asked')
  .action((entry: string, opts: { config: string; state: string; by?: string }) => run(() => untrustCommand(entry, opts))());

withLocation(program.command('trusted'))
  .description('list the fleet-wide trusted entries added with "portcullis trust"')
  .option('--json', 'print JSON')
  .action((opts: { config: string; state: string; json?: boolean }) => run(() => trustedCommand(opts))());

withLocation(program.command('audit'))
  .description('every ban, unban and trust change, newest first (when, jail, address, origin, who, reason)')
  .option('--jail <jail>', 'only this jail')
  .option('--ip <ip>', 'only this address')
  .option('--origin <origin>', 'log, cli, api, external or flowmon')
  .option('--kind <kind>', 'ban, extend, unban, trust or untrust')
  .option('--since <when>', 'a duration back from now (1h, 2d) or an ISO time')
  .option('--limit <n>', 'at most this many entries (default 100)')
  .option('--json', 'print JSON')
  .action((opts: AuditOptions) => run(() => auditCommand(opts))());

withLocation(program.command('regex'))
  .description('test a filter against a log file or a line (the fail2ban-regex of Portcullis)')
  .argument('<log>', 'a log file path, or a log line')
  .argument('<filter>', 'a filter file, a filter name (name[k=v,...] allowed), or a regex with <HOST>')
  .argument('[ignoreregex]', "an ignoreregex, or a file of them (added to the filter's own)")
  .option('--print-all-matched', 'print every matched line')
  .option('--print-all-missed', 'print every line that did not match')
  .option('--json', 'one JSON object per input line')
  .option('--now <epoch>', 'the "now" (epoch seconds) for year inference of time stamps without a year')
  .option('-o, --option <k=v>', 'set a filter option (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .action((log: string, filter: string, ignore: string | undefined, opts: Parameters<typeof regexCommand>[3]) =>
    run(async () => (await import('./commands/regex.js')).regexCommand(log, filter, ignore, opts))(),
  );

await program.parseAsync(process.argv);
