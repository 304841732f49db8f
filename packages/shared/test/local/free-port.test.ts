import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/local/free-port.js';
import { isPortcullisError } from '../../src/errors.js';

describe('findFreePort', () => {
  it('returns a port that can then be bound on the host', async () => {
    const port = await findFreePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, exclusive: true }, resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  it('works for IPv6 loopback', async () => {
    const port = await findFreePort('::1');
    expect(port).toBeGreaterThan(0);
  });

  it('fails with PC_LOCAL_SERVER for an address that is not local', async () => {
    const error = await findFreePort('192.0.2.77').catch((e: unknown) => e);
    expect(isPortcullisError(error, 'PC_LOCAL_SERVER')).toBe(true);
    expect((error as Error).message).toContain('192.0.2.77');
  });
});
