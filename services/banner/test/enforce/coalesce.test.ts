import { describe, expect, it } from 'vitest';
import { CONTRACTS, createLogger, decodeMessage, encodeMessage, ManualClock, type BanDecisionV1 } from '@portcullis/shared';
import { createEnforcer } from '../../src/enforce.js';
import type { BanEntry, FirewallBackend } from '../../src/firewall/backend.js';
import type { JailRuntime } from '../../src/jail-runtime.js';
import { batchId, encodeBatch, planBatches } from '../../src/publish-decision.js';
import { createTrustList } from '../../src/trust/index.js';

const log = createLogger({ service: 'test', level: 'silent' });

/** Records what the enforcer asks of the firewall (the nftables backend is tested on a real kernel elsewhere). */
function recordingFirewall(failOn?: string) {
  const calls: { op: 'ban' | 'unban'; entries: { jail: string; ip: string; timeoutSec?: number | null }[] }[] = [];
  const fw = {
    name: 'recording',
    setup: async () => undefined,
    ban: async (entries: BanEntry[]) => {
      if (failOn && entries.some((e) => e.ip === failOn)) throw new Error(`bad entry ${failOn}`);
      calls.push({ op: 'ban', entries });
    },
    unban: async (entries: { jail: string; ip: string }[]) => {
      calls.push({ op: 'unban', entries });
    },
    list: async () => [],
    reconcile: async () => undefined,
    teardown: async () => undefined,
    close: () => undefined,
  } satisfies FirewallBackend;
  return { fw, calls };
}

async function jails(names: string[], trusted: string[] = []): Promise<Map<string, JailRuntime>> {
  const out = new Map<string, JailRuntime>();
  for (const name of names) {
    const trust = await createTrustList(trusted, { ignoreself: false, clock: new ManualClock(0) });
    out.set(name, { config: { name } as JailRuntime['config'], trust, enforcement: { jail: name, ports: 'all', protocols: 'all', verdict: 'drop' }, escalation: {} as JailRuntime['escalation'], recidive: false });
  }
  return out;
}

function decision(kind: 'ban' | 'unban', ip: string, at: number, until: number | null = at + 60_000, jail = 'sshd'): BanDecisionV1 {
  return { v: 1, id: `${kind}-${ip}-${at}`, kind, jail, ip, at, ...(kind === 'ban' ? { until } : {}), origin: 'cli', reason: 'r', decidedBy: 'h' };
}

describe('enforcer: coalescing decisions', () => {
  it('applies many batches as one ban and one unban transaction, the last decision per address winning', async () => {
    const { fw, calls } = recordingFirewall();
    const clock = new ManualClock(1_000_000);
    const e = createEnforcer({ jails: await jails(['sshd']), firewall: fw, clock, log });
    const failed = await e.applyGroups([
      [decision('ban', '192.0.2.1', 1_000_000), decision('ban', '192.0.2.2', 1_000_000)],
      [decision('unban', '192.0.2.1', 1_000_001), decision('ban', '192.0.2.3', 1_000_001, null)],
      [decision('unban', '192.0.2.4', 1_000_002), decision('ban', '192.0.2.4', 1_000_002, 1_030_000), decision('ban', '192.0.2.9', 0, 10, 'other-jail')],
    ]);
    expect(failed.size).toBe(0);
    expect(calls).toEqual([
      { op: 'unban', entries: [{ jail: 'sshd', ip: '192.0.2.1' }] },
      {
        op: 'ban',
        entries: [
          { jail: 'sshd', ip: '192.0.2.2', timeoutSec: 60 },
          { jail: 'sshd', ip: '192.0.2.3', timeoutSec: null },
          { jail: 'sshd', ip: '192.0.2.4', timeoutSec: 30 },
        ],
      },
    ]);
  });

  it('skips bans that are over and addresses this host trusts', async () => {
    const { fw, calls } = recordingFirewall();
    const e = createEnforcer({ jails: await jails(['sshd'], ['192.0.2.7']), firewall: fw, clock: new ManualClock(2_000_000), log });
    await e.applyGroups([[decision('ban', '192.0.2.5', 1_000_000, 1_500_000), decision('ban', '192.0.2.7', 2_000_000), decision('ban', '192.0.2.8', 2_000_000)]]);
    expect(calls).toEqual([{ op: 'ban', entries: [{ jail: 'sshd', ip: '192.0.2.8', timeoutSec: 60 }] }]);
  });

  it('isolates a batch the firewall refuses: the others are applied, only it is reported failed', async () => {
    const { fw, calls } = recordingFirewall('192.0.2.66');
    const e = createEnforcer({ jails: await jails(['sshd']), firewall: fw, clock: new ManualClock(1_000_000), log });
    const failed = await e.applyGroups([[decision('ban', '192.0.2.1', 1_000_000)], [decision('ban', '192.0.2.66', 1_000_000)], [decision('ban', '192.0.2.3', 1_000_000)]]);
    expect([...failed]).toEqual([1]);
    expect(calls.map((c) => c.entries.map((x) => x.ip))).toEqual([['192.0.2.1'], ['192.0.2.3']]);
  });

  it('applies the calls made while the firewall is busy together, telling each caller about its own groups', async () => {
    const { fw, calls } = recordingFirewall('192.0.2.66');
    let release!: () => void;
    const busy = new Promise<void>((r) => (release = r));
    let first = true;
    const slow: FirewallBackend = {
      ...fw,
      ban: async (entries) => {
        if (first) {
          first = false;
          await busy;
        }
        await fw.ban(entries);
      },
    };
    const e = createEnforcer({ jails: await jails(['sshd']), firewall: slow, clock: new ManualClock(1_000_000), log });
    const a = e.applyGroups([[decision('ban', '192.0.2.1', 1_000_000)]]);
    await new Promise((r) => setImmediate(r));
    // the firewall is busy with a: these three wait, then go as one transaction (and, as one of
    // them fails, group by group)
    const b = e.applyGroups([[decision('ban', '192.0.2.2', 1_000_000)], [decision('ban', '192.0.2.66', 1_000_000)]]);
    const c = e.applyGroups([[decision('ban', '192.0.2.3', 1_000_000)]]);
    const d = e.applyGroups([[decision('ban', '192.0.2.4', 1_000_000)]]);
    release();
    expect([...(await a)]).toEqual([]);
    expect([...(await b)]).toEqual([1]);
    expect([...(await c)]).toEqual([]);
    expect([...(await d)]).toEqual([]);
    expect(calls.map((x) => x.entries.map((y) => y.ip))).toEqual([['192.0.2.1'], ['192.0.2.2'], ['192.0.2.3'], ['192.0.2.4']]);

    const together = recordingFirewall();
    let hold!: () => void;
    const held = new Promise<void>((r) => (hold = r));
    let once = true;
    const e2 = createEnforcer({
      jails: await jails(['sshd']),
      firewall: {
        ...together.fw,
        ban: async (entries) => {
          if (once) {
            once = false;
            await held;
          }
          await together.fw.ban(entries);
        },
      },
      clock: new ManualClock(1_000_000),
      log,
    });
    const p1 = e2.applyGroups([[decision('ban', '192.0.2.1', 1_000_000)]]);
    await new Promise((r) => setImmediate(r));
    const p2 = e2.applyGroups([[decision('ban', '192.0.2.2', 1_000_000)]]);
    const p3 = e2.applyGroups([[decision('ban', '192.0.2.3', 1_000_000)]]);
    hold();
    await Promise.all([p1, p2, p3]);
    expect(together.calls.map((x) => x.entries.map((y) => y.ip))).toEqual([['192.0.2.1'], ['192.0.2.2', '192.0.2.3']]);
  });

  it('reconciles in turn with decisions: a snapshot is never interleaved with an apply', async () => {
    const { fw } = recordingFirewall();
    const order: string[] = [];
    const slowFw: FirewallBackend = {
      ...fw,
      ban: async (entries) => {
        order.push(`ban ${entries.length}`);
      },
      reconcile: async (desired) => {
        order.push(`reconcile ${desired.length}`);
      },
    };
    const e = createEnforcer({ jails: await jails(['sshd']), firewall: slowFw, clock: new ManualClock(1_000_000), log });
    const rec = e.reconcile(async () => {
      order.push('read');
      await new Promise((r) => setTimeout(r, 30));
      return [];
    });
    const applied = e.applyGroups([[decision('ban', '192.0.2.1', 1_000_000)]]);
    await Promise.all([rec, applied]);
    expect(order).toEqual(['read', 'reconcile 0', 'ban 1']);
  });
});

describe('decision batches', () => {
  it('splits by jail and by size, keeping order, each batch a valid message under 1 MiB', () => {
    const ds: BanDecisionV1[] = [];
    for (let i = 0; i < 12_000; i++) ds.push({ ...decision('ban', `2001:db8:1:${(i >> 12) + 1}::${(i & 0xfff) + 1}`, 1_000_000), reason: 'x'.repeat(200), jail: i % 3 === 0 ? 'web' : 'sshd' });
    const batches = planBatches(ds);
    expect(batches.length).toBeGreaterThan(2);
    for (const b of batches) {
      expect(b.decisions.every((d) => d.jail === b.jail)).toBe(true);
      const bytes = encodeMessage(CONTRACTS.decisionBatch, { v: 1, id: batchId(b.decisions), jail: b.jail, decisions: b.decisions }).byteLength;
      expect(bytes).toBeLessThan(1024 * 1024);
    }
    for (const jail of ['sshd', 'web']) {
      expect(batches.filter((b) => b.jail === jail).flatMap((b) => b.decisions)).toEqual(ds.filter((d) => d.jail === jail));
    }
    expect(batchId(batches[0]!.decisions)).toBe(batchId([...batches[0]!.decisions]));
    expect(batchId(batches[0]!.decisions)).not.toBe(batchId(batches[1]!.decisions));
  });

  it('encodes a batch from the JSON planned with it: the same message, validated', () => {
    const ds = [decision('ban', '192.0.2.1', 1_000), { ...decision('ban', '2001:db8::1', 1_000, null), matches: ['a "quoted"\nline'], by: 'bob' }, decision('unban', '192.0.2.1', 2_000)];
    const [b] = planBatches(ds);
    const bytes = encodeBatch({ ...b!, id: batchId(b!.decisions) });
    expect(decodeMessage(CONTRACTS.decisionBatch, bytes)).toEqual({ v: 1, id: batchId(ds), jail: 'sshd', decisions: ds });
    expect(b!.json.map((j) => decodeMessage(CONTRACTS.decision, new TextEncoder().encode(j)))).toEqual(ds);
    const bad = planBatches([{ ...decision('ban', '192.0.2.1', 1_000), ip: 'not an address' }]);
    expect(() => encodeBatch({ ...bad[0]!, id: 'x' })).toThrow(/ip/);
  });

  it('refuses a batch whose decisions belong to another jail', () => {
    expect(() => encodeMessage(CONTRACTS.decisionBatch, { v: 1, id: 'x', jail: 'sshd', decisions: [decision('ban', '192.0.2.1', 1, 2, 'web')] })).toThrow(/batch's jail/);
  });
});
