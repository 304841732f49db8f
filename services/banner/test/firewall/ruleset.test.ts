import { describe, expect, it } from 'vitest';
import type { JailEnforcement } from '../../src/firewall/backend.js';
import { groupBySet, writeCommands } from '../../src/firewall/nftables/elements.js';
import { ruleTails, setupCommands } from '../../src/firewall/nftables/ruleset.js';

const base: JailEnforcement = { jail: 'j', ports: [{ from: 22, to: 22 }], protocols: ['tcp'], verdict: 'drop' };
const l4 = (right: unknown) => ({ match: { op: '==', left: { meta: { key: 'l4proto' } }, right } });
const dport = (right: unknown) => ({ match: { op: '==', left: { payload: { protocol: 'th', field: 'dport' } }, right } });

describe('nftables rules for a jail', () => {
  it('drop: one rule with protocol and port matches', () => {
    expect(ruleTails(base)).toEqual([[l4('tcp'), dport(22), { drop: null }]]);
    expect(ruleTails({ ...base, ports: 'all', protocols: 'all' })).toEqual([[{ drop: null }]]);
    expect(ruleTails({ ...base, ports: [{ from: 1000, to: 2000 }, { from: 3000, to: 3000 }], protocols: 'all' })).toEqual([
      [l4({ set: ['tcp', 'udp', 'sctp', 'udplite'] }), dport({ set: [{ range: [1000, 2000] }, 3000] }), { drop: null }],
    ]);
  });

  it('reject: tcp reset for tcp, icmpx port-unreachable for the rest', () => {
    expect(ruleTails({ ...base, verdict: 'reject', protocols: ['tcp', 'udp'] })).toEqual([
      [l4('tcp'), dport(22), { reject: { type: 'tcp reset' } }],
      [l4('udp'), dport(22), { reject: { type: 'icmpx', expr: 'port-unreachable' } }],
    ]);
    expect(ruleTails({ ...base, verdict: 'reject', protocols: ['udp'] })).toEqual([
      [l4('udp'), dport(22), { reject: { type: 'icmpx', expr: 'port-unreachable' } }],
    ]);
    expect(ruleTails({ ...base, verdict: 'reject', ports: 'all', protocols: 'all' })).toEqual([
      [l4('tcp'), { reject: { type: 'tcp reset' } }],
      [{ reject: { type: 'icmpx', expr: 'port-unreachable' } }],
    ]);
  });

  it('setup adds (never creates) table, chain and sets, flushes the chain before the rules, deletes stale sets last', () => {
    const cmds = setupCommands('pc', [base], ['gone-v4']);
    const verbs = cmds.map((c) => `${Object.keys(c)[0]} ${Object.keys(Object.values(c)[0] as object)[0]}`);
    expect(verbs).toEqual(['add table', 'add chain', 'add set', 'add set', 'flush chain', 'add rule', 'add rule', 'delete set']);
    expect(JSON.stringify(cmds)).not.toContain('"create"');
  });
});

describe('element transactions', () => {
  it('writes as add(bare) + delete + add(timeout), removals as add(bare) + delete, deduplicated', () => {
    const writes = groupBySet(
      [
        { jail: 'j', ip: '192.0.2.1', timeoutSec: 10 },
        { jail: 'j', ip: '192.0.2.1', timeoutSec: 20.2 },
        { jail: 'j', ip: '2001:DB8::1', timeoutSec: null },
      ],
      new Set(['j']),
    );
    const removals = groupBySet([{ jail: 'j', ip: '192.0.2.9' }], new Set(['j']));
    expect(writeCommands('pc', writes, removals)).toEqual([
      { add: { element: { family: 'inet', table: 'pc', name: 'j-v4', elem: ['192.0.2.1', '192.0.2.9'] } } },
      { delete: { element: { family: 'inet', table: 'pc', name: 'j-v4', elem: ['192.0.2.1', '192.0.2.9'] } } },
      { add: { element: { family: 'inet', table: 'pc', name: 'j-v4', elem: [{ elem: { val: '192.0.2.1', timeout: 21 } }] } } },
      { add: { element: { family: 'inet', table: 'pc', name: 'j-v6', elem: ['2001:db8::1'] } } },
      { delete: { element: { family: 'inet', table: 'pc', name: 'j-v6', elem: ['2001:db8::1'] } } },
      { add: { element: { family: 'inet', table: 'pc', name: 'j-v6', elem: ['2001:db8::1'] } } },
    ]);
    expect(writeCommands('pc', new Map())).toEqual([]);
  });

  it('in place (the kernel replaces timeouts on add): writes are one add, removals add(bare) + delete', () => {
    const writes = groupBySet(
      [
        { jail: 'j', ip: '192.0.2.1', timeoutSec: 20 },
        { jail: 'j', ip: '2001:db8::1', timeoutSec: null },
      ],
      new Set(['j']),
    );
    const removals = groupBySet([{ jail: 'j', ip: '192.0.2.9' }, { jail: 'j', ip: '192.0.2.1' }], new Set(['j']));
    expect(writeCommands('pc', writes, removals, 'in-place')).toEqual([
      { add: { element: { family: 'inet', table: 'pc', name: 'j-v4', elem: ['192.0.2.9'] } } },
      { delete: { element: { family: 'inet', table: 'pc', name: 'j-v4', elem: ['192.0.2.9'] } } },
      { add: { element: { family: 'inet', table: 'pc', name: 'j-v4', elem: [{ elem: { val: '192.0.2.1', timeout: 20 } }] } } },
      { add: { element: { family: 'inet', table: 'pc', name: 'j-v6', elem: ['2001:db8::1'] } } },
    ]);
  });
});
