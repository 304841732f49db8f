import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NftCommand, NftObject, NftSet } from '../../../../packages/shared/src/nft/nft-json.js';
import type { NftTransport } from '../../../../packages/shared/src/nft/nft-error.js';
import { useNetnsScope } from '../../../../tests/harness/index.js';
import { Agent } from './netns-agent.js';

const TRANSPORTS: NftTransport[] = ['libnftables', 'nft-binary'];

const table = (name: string): NftCommand => ({ add: { table: { family: 'inet', name } } });
const set = (t: string, name: string): NftCommand => ({
  add: { set: { family: 'inet', table: t, name, type: 'ipv4_addr', flags: ['timeout'] } },
});

function bigBatch(t: string, count: number): NftCommand[] {
  const elem = [];
  for (let i = 0; i < count; i++) elem.push({ elem: { val: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, timeout: 3600 } });
  return [table(t), set(t, 'big'), { add: { element: { family: 'inet', table: t, name: 'big', elem } } }];
}

function setOf(objects: NftObject[], name: string): NftSet {
  const found = objects.find((o) => o.set?.name === name)?.set;
  if (!found) throw new Error(`set ${name} not listed`);
  return found;
}

describe('nft client in a network namespace (real kernel)', () => {
  const scope = useNetnsScope();
  let agent: Agent;
  const timings: string[] = [];

  beforeAll(async () => {
    agent = Agent.start(await scope.create());
  });

  afterAll(async () => {
    await agent?.stop();
    console.log(timings.join('\n'));
  });

  it.each(TRANSPORTS)('%s: runs a transaction and lists it back with element timeouts', async (transport) => {
    expect(await agent.call('client.open', { prefer: transport })).toBe(transport);
    const t = `t_${transport.replace('-', '_')}`;
    await agent.call('client.run', {
      commands: [
        table(t),
        set(t, 's'),
        {
          add: {
            element: {
              family: 'inet',
              table: t,
              name: 's',
              elem: ['192.0.2.10', { elem: { val: '192.0.2.11', timeout: 600 } }, { elem: { val: '192.0.2.12', timeout: 600, expires: 300 } }],
            },
          },
        },
      ],
    });
    const listed = await agent.call<NftObject[]>('client.list', { target: { table: { family: 'inet', name: t } } });
    expect(listed.some((o) => o.metainfo !== undefined)).toBe(false);
    const s = setOf(listed, 's');
    expect(s.type).toBe('ipv4_addr');
    expect(s.flags).toEqual(['timeout']);
    const elems = s.elem ?? [];
    expect(elems).toContain('192.0.2.10');
    const e11 = elems.find((e) => typeof e === 'object' && 'elem' in e && e.elem.val === '192.0.2.11');
    const e12 = elems.find((e) => typeof e === 'object' && 'elem' in e && e.elem.val === '192.0.2.12');
    expect(e11).toMatchObject({ elem: { timeout: 600 } });
    expect((e11 as { elem: { expires: number } }).elem.expires).toBeGreaterThan(590);
    expect((e12 as { elem: { expires: number } }).elem.expires).toBeLessThanOrEqual(300);
    expect((e12 as { elem: { expires: number } }).elem.expires).toBeGreaterThan(290);
  });

  it.each(TRANSPORTS)('%s: a failing command fails the whole transaction with nft\'s error text', async (transport) => {
    await agent.call('client.open', { prefer: transport });
    const t = `atomic_${transport.replace('-', '_')}`;
    const err = await agent
      .call('client.run', {
        commands: [table(t), set(t, 's'), { delete: { element: { family: 'inet', table: t, name: 's', elem: ['192.0.2.99'] } } }],
      })
      .then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
    expect(err?.code).toBe('PC_FIREWALL');
    expect(err?.message).toContain('No such file or directory');
    expect(err?.message).toContain(transport);
    expect(err?.message).toContain(`delete element inet ${t} s (1 elements)`);
    // Nothing of the transaction was applied: the table it created is not there.
    const tables = await agent.call<NftObject[]>('client.list', { target: { tables: null } });
    expect(tables.map((o) => o.table?.name)).not.toContain(t);
    await expect(agent.call('client.list', { target: { table: { family: 'inet', name: t } } })).rejects.toMatchObject({
      code: 'PC_FIREWALL',
    });
  });

  it('falls back to the nft binary when libnftables cannot be loaded, and back again', async () => {
    const toBinary = await agent.call<{ transport: string; fallback: string }>('client.open', {
      prefer: 'libnftables',
      libraryPath: '/nonexistent/libnftables.so.1',
      details: true,
    });
    expect(toBinary.transport).toBe('nft-binary');
    expect(toBinary.fallback).toContain('/nonexistent/libnftables.so.1');
    const toLib = await agent.call<{ transport: string; fallback: string }>('client.open', {
      prefer: 'nft-binary',
      nftPath: '/nonexistent/nft',
      details: true,
    });
    expect(toLib.transport).toBe('libnftables');
    expect(toLib.fallback).toContain('/nonexistent/nft');
    await expect(
      agent.call('client.open', { libraryPath: '/nonexistent/libnftables.so.1', nftPath: '/nonexistent/nft' }),
    ).rejects.toMatchObject({ code: 'PC_FIREWALL_UNAVAILABLE' });
  });

  it('small transactions: per-call latency of each transport', async () => {
    for (const transport of TRANSPORTS) {
      await agent.call('client.open', { prefer: transport });
      const t = `small_${transport.replace('-', '_')}`;
      await agent.call('client.run', { commands: [table(t), set(t, 's')] });
      const calls = 50;
      let total = 0;
      for (let i = 0; i < calls; i++) {
        const elem = [{ elem: { val: `192.0.2.${i + 1}`, timeout: 60 } }];
        total += (await agent.call<{ ms: number }>('client.run', { commands: [{ add: { element: { family: 'inet', table: t, name: 's', elem } } }] })).ms;
      }
      timings.push(`[nft client] one-element transaction via ${transport}: ${(total / calls).toFixed(2)} ms on average`);
      const listed = await agent.call<NftObject[]>('client.list', { target: { set: { family: 'inet', table: t, name: 's' } } });
      expect(setOf(listed, 's').elem).toHaveLength(calls);
    }
  });

  it('applies 50,000 elements in one transaction on both transports, with the same result', async () => {
    const results: Record<string, string[]> = {};
    for (const transport of TRANSPORTS) {
      await agent.call('client.open', { prefer: transport });
      const t = `big_${transport.replace('-', '_')}`;
      const { ms } = await agent.call<{ ms: number }>('client.run', { commands: bigBatch(t, 50_000) }, 60_000);
      timings.push(`[nft client] one transaction of 50,000 elements via ${transport}: ${ms.toFixed(0)} ms`);
      expect(ms).toBeLessThan(10_000);
      const listed = await agent.call<NftObject[]>('client.list', { target: { set: { family: 'inet', table: t, name: 'big' } } });
      const elems = setOf(listed, 'big').elem ?? [];
      expect(elems).toHaveLength(50_000);
      results[transport] = elems.map((e) => (typeof e === 'object' && 'elem' in e ? `${String(e.elem.val)}/${e.elem.timeout}` : String(e))).sort();
    }
    expect(results['nft-binary']).toEqual(results.libnftables);
  });
});
