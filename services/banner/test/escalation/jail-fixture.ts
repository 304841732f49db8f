import type { JailConfig } from '@portcullis/shared';

/** A validated jail as loadConfig would produce it; `options` are the jail's raw options after interpolation. */
export function jailConfig(name: string, options: Record<string, string> = {}, over: Partial<JailConfig> = {}): JailConfig {
  return {
    name,
    enabled: true,
    filter: { name, options: {} },
    logpath: ['/var/log/test.log'],
    backend: 'auto',
    journalmatch: '',
    maxretry: 3,
    findtime: 600,
    bantime: 600,
    ignoreip: [],
    ignoreself: false,
    port: '0:65535',
    protocol: 'tcp',
    banaction: 'nftables-multiport',
    banactionAllports: 'nftables-allports',
    actions: [],
    fromStart: false,
    options,
    ref: { file: '/etc/portcullis/jail.local', line: 12 },
    ...over,
  };
}
