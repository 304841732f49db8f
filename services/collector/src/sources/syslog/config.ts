import { isIP } from 'node:net';
import { PortcullisError, type PortcullisConfig } from '@portcullis/shared';
import type { SyslogRoute } from './routes.js';
import type { SyslogListen } from './syslog-source.js';

export interface SyslogConfig {
  listen: SyslogListen[];
  routes: SyslogRoute[];
  maxMessageBytes?: number;
}

/**
 * The syslog listener's settings: `syslog_listen` (and `syslog_max_message`) in [portcullis], and
 * each enabled jail's `syslog_program`. Undefined when `syslog_listen` is empty (the default: no
 * port is opened unless asked for).
 *
 *   [portcullis]
 *   syslog_listen = udp://127.0.0.1:514 tcp://127.0.0.1:514
 *
 *   [sshd]
 *   syslog_program = sshd sshd-session
 */
export function syslogConfig(config: PortcullisConfig): SyslogConfig | undefined {
  const opts = config.settings.options ?? {};
  const listenText = (opts['syslog_listen'] ?? '').trim();
  if (listenText === '') return undefined;
  const listen = listenText.split(/[\s,]+/).filter(Boolean).map(parseListen);
  const routes: SyslogRoute[] = [];
  for (const j of config.jails) {
    if (!j.enabled) continue;
    const programs = (j.options['syslog_program'] ?? '').split(/[\s,]+/).filter(Boolean);
    for (const program of programs) routes.push({ program, jails: [j.name] });
  }
  const out: SyslogConfig = { listen, routes };
  const max = (opts['syslog_max_message'] ?? '').trim();
  if (max !== '') {
    const n = Number(max);
    if (!Number.isInteger(n) || n < 480 || n > 65_536) {
      throw new PortcullisError('PC_CONFIG_INVALID', `[portcullis] syslog_max_message must be an integer from 480 to 65536 (bytes), got ${JSON.stringify(max)}`);
    }
    out.maxMessageBytes = n;
  }
  return out;
}

/** `udp://0.0.0.0:514`, `tcp://[::1]:6514`. */
export function parseListen(text: string): SyslogListen {
  const bad = (why: string): PortcullisError =>
    new PortcullisError('PC_CONFIG_INVALID', `[portcullis] syslog_listen: ${JSON.stringify(text)} ${why}; expected udp://ADDRESS:PORT or tcp://ADDRESS:PORT`);
  const m = /^(udp|tcp):\/\/(?:\[([^\]]+)\]|([^:/]+)):(\d{1,5})$/.exec(text);
  if (!m) throw bad('is not a listen address');
  const host = (m[2] ?? m[3]) as string;
  const port = Number(m[4]);
  if (isIP(host) === 0) throw bad('does not name an IP address');
  if (port > 65535) throw bad('has a port above 65535');
  return { protocol: m[1] as 'udp' | 'tcp', host, port };
}
