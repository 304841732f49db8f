import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JailConfig, PortcullisConfig } from '@portcullis/shared';
import { ingestConfig, TokenVerifier } from '../../src/ingest/index.js';

function config(options: Record<string, string>, jails: Partial<JailConfig>[] = []): PortcullisConfig {
  return {
    dir: '/etc/portcullis',
    settings: { host: 'web1', natsUrl: '', redisUrl: '', firewall: 'nftables', nftTable: 'portcullis', otlpEndpoint: '', logLevel: 'info', options },
    jails: jails.map((j) => ({ enabled: true, options: {}, ...j }) as JailConfig),
  };
}

describe('ingest settings', () => {
  it('is off unless ingest_listen is set', () => {
    expect(ingestConfig(config({}))).toBeUndefined();
  });

  it('reads address, tokens (inline and from a file) and the enabled jails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pct-ingest-'));
    try {
      const file = join(dir, 'tokens');
      await writeFile(file, '# name token\nbilling  b1b2b3b4b5b6b7b8b9b0\n\n');
      const c = ingestConfig(
        config({ ingest_listen: '[::1]:8514', ingest_tokens: 'webshop:w1w2w3w4w5w6w7w8w9w0', ingest_tokens_file: file, ingest_body_limit: '65536' }, [
          { name: 'sshd' },
          { name: 'off', enabled: false },
        ]),
      );
      expect(c).toEqual({
        host: '::1',
        port: 8514,
        tokens: [
          { name: 'webshop', token: 'w1w2w3w4w5w6w7w8w9w0' },
          { name: 'billing', token: 'b1b2b3b4b5b6b7b8b9b0' },
        ],
        jails: ['sshd'],
        bodyLimitBytes: 65536,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad settings with the key in the message, without echoing secrets', () => {
    expect(() => ingestConfig(config({ ingest_listen: 'localhost:8514', ingest_tokens: 'a:0123456789abcdef' }))).toThrow(/ingest_listen "localhost:8514" must be ADDRESS:PORT/);
    expect(() => ingestConfig(config({ ingest_listen: '127.0.0.1:8514' }))).toThrow(/no token is: set ingest_tokens/);
    let msg = '';
    try {
      ingestConfig(config({ ingest_listen: '127.0.0.1:8514', ingest_tokens: 'secretwithoutname0123' }));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/entry 1 is not/);
    expect(msg).not.toContain('secretwithoutname');
    expect(() => new TokenVerifier([{ name: 'short', token: 'abc' }])).toThrow(/at least 16 characters/);
    expect(() => new TokenVerifier([])).toThrow(/no tokens configured/);
  });

  it('verifies bearer tokens and names their holder', () => {
    const v = new TokenVerifier([
      { name: 'a', token: 'aaaaaaaaaaaaaaaaaaaa' },
      { name: 'b', token: 'bbbbbbbbbbbbbbbbbbbb' },
    ]);
    expect(v.verify('Bearer bbbbbbbbbbbbbbbbbbbb')).toBe('b');
    expect(v.verify('bearer aaaaaaaaaaaaaaaaaaaa')).toBe('a');
    expect(v.verify('Bearer aaaaaaaaaaaaaaaaaaa')).toBeUndefined();
    expect(v.verify('aaaaaaaaaaaaaaaaaaaa')).toBeUndefined();
    expect(v.verify(undefined)).toBeUndefined();
  });
});
