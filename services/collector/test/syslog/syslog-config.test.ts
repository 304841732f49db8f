import { describe, expect, it } from 'vitest';
import type { JailConfig, PortcullisConfig } from '@portcullis/shared';
import { syslogConfig } from '../../src/sources/syslog/index.js';

function config(options: Record<string, string>, jails: Partial<JailConfig>[] = []): PortcullisConfig {
  return {
    dir: '/etc/portcullis',
    settings: { host: 'web1', natsUrl: '', redisUrl: '', firewall: 'nftables', nftTable: 'portcullis', otlpEndpoint: '', logLevel: 'info', options },
    jails: jails.map((j) => ({ enabled: true, options: {}, ...j }) as JailConfig),
  };
}

describe('syslog settings', () => {
  it('is off unless syslog_listen is set; routes come from the enabled jails syslog_program', () => {
    expect(syslogConfig(config({}))).toBeUndefined();
    expect(
      syslogConfig(
        config({ syslog_listen: 'udp://0.0.0.0:514, tcp://[::]:514', syslog_max_message: '16384' }, [
          { name: 'sshd', options: { syslog_program: 'sshd sshd-session' } },
          { name: 'postfix', options: { syslog_program: 'postfix/*' } },
          { name: 'off', enabled: false, options: { syslog_program: '*' } },
          { name: 'files-only' },
        ]),
      ),
    ).toEqual({
      listen: [
        { protocol: 'udp', host: '0.0.0.0', port: 514 },
        { protocol: 'tcp', host: '::', port: 514 },
      ],
      routes: [
        { program: 'sshd', jails: ['sshd'] },
        { program: 'sshd-session', jails: ['sshd'] },
        { program: 'postfix/*', jails: ['postfix'] },
      ],
      maxMessageBytes: 16384,
    });
    expect(() => syslogConfig(config({ syslog_listen: 'udp://0.0.0.0:514', syslog_max_message: '100' }))).toThrow(/syslog_max_message must be an integer from 480 to 65536/);
  });
});
