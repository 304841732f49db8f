import { loadConfig, PortcullisError, type JailStatus } from '@portcullis/shared/client';
import { controlRequest } from '../control-client.js';

export async function statusCommand(jail: string | undefined, opts: { config: string; state: string; json?: boolean }): Promise<number> {
  const config = loadConfig(opts.config);
  const reply = await controlRequest(config, opts.state, jail ? { v: 1, op: 'status', jail } : { v: 1, op: 'status' });
  if (!reply.ok) throw new PortcullisError(reply.error.code as never, reply.error.message);
  const jails = reply.jails ?? [];
  if (opts.json) {
    process.stdout.write(JSON.stringify(jail ? jails[0] : jails, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(jail ? formatJail(jails[0]!) : formatAll(jails));
  return 0;
}

function formatAll(jails: JailStatus[]): string {
  return `Status\n|- Number of jail:\t${jails.length}\n\`- Jail list:\t${jails.map((j) => j.jail).join(', ')}\n`;
}

/** The layout of `fail2ban-client status JAIL`, which admins and their scripts already read. */
function formatJail(j: JailStatus): string {
  return [
    `Status for the jail: ${j.jail}`,
    `|- Filter`,
    `|  |- Currently failed:\t${j.currentlyFailed}`,
    `|  |- Total failed:\t${j.totalFailed}`,
    `|  \`- File list:\t${j.logpaths.join(' ')}`,
    `\`- Actions`,
    `   |- Currently banned:\t${j.currentlyBanned}`,
    `   |- Total banned:\t${j.totalBanned}`,
    `   \`- Banned IP list:\t${j.bans.map((b) => b.ip).join(' ')}`,
    '',
  ].join('\n');
}
