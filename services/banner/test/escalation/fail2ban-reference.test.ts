import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createEscalationPolicy, MAX_ESCALATED_BANTIME } from '../../src/escalation/index.js';
import { jailConfig } from './jail-fixture.js';

/**
 * Differential test against fail2ban itself (Debian's package, installed by `scripts/setup.sh
 * --test`): fail2ban's Jail.setBanTimeExtra builds the ban-time function ("evformula") that its
 * observer calls as evformula(BanTimeIncr(bantime, count)) for count > 0. We run that very code
 * with random.random() fixed at 0.5 and compare, after Portcullis' rounding to whole seconds.
 */
const PYTHON = '/usr/bin/python3';
const REFERENCE = `
import json, random, sys, logging
logging.disable(logging.CRITICAL)
from fail2ban.server.jail import Jail
from fail2ban.server.observer import ObserverThread
random.random = lambda: 0.5
out = []
for c in json.loads(sys.stdin.read()):
    j = Jail('ref', backend='polling')
    for k, v in c['options'].items():
        j.setBanTimeExtra(k, v)
    ev = j.getBanTimeExtra('evformula')
    out.append([ev(ObserverThread.BanTimeIncr(c['bantime'], n)) for n in c['counts']])
print(json.dumps(out))
`;

interface Case {
  options: Record<string, string>;
  bantime: number;
}

const COUNTS = [1, 2, 3, 4, 5, 7, 10, 19, 20, 21, 30];
const CASES: Case[] = [
  { options: {}, bantime: 600 },
  { options: { factor: '2' }, bantime: 600 },
  { options: { factor: '2.0 / 2.885385', formula: 'ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)' }, bantime: 600 },
  { options: { formula: 'ban.Time * (ban.Count + 1) if ban.Count < 5 else ban.Time * 10' }, bantime: 300 },
  { options: { formula: 'min(ban.Time * 2 ** ban.Count, 86400) + int(7.9)' }, bantime: 60 },
  { options: { formula: 'ban.Time / 2' }, bantime: 600 },
  { options: { multipliers: '1 2 4 8 16 32 64' }, bantime: 600 },
  { options: { multipliers: '1 5 30 60 300 720 1440 2880' }, bantime: 60 },
  { options: { multipliers: '1 2 4', factor: '3' }, bantime: 600 },
  { options: { maxtime: '1h' }, bantime: 600 },
  { options: { maxtime: '5w', rndtime: '10m' }, bantime: 3600 },
  { options: { multipliers: '1 2 4 8', maxtime: '1d', rndtime: '30' }, bantime: 3600 },
  { options: { formula: 'ban.Time * math.sqrt(ban.Count + 1) + math.log(ban.Count + 1, 2)', rndtime: '1m' }, bantime: 90 },
];

describe("escalation matches fail2ban's own evformula", () => {
  it('gives the ban time fail2ban computes for every option combination and count', () => {
    expect(existsSync(PYTHON) && existsSync('/usr/lib/python3/dist-packages/fail2ban/server/jail.py'), 'install fail2ban: scripts/setup.sh --test').toBe(true);
    const input = JSON.stringify(CASES.map((c) => ({ options: { increment: 'true', ...c.options }, bantime: c.bantime, counts: COUNTS })));
    const reference = JSON.parse(execFileSync(PYTHON, ['-c', REFERENCE], { input, encoding: 'utf8' })) as number[][];
    CASES.forEach((c, i) => {
      const options = Object.fromEntries(Object.entries({ increment: 'true', ...c.options }).map(([k, v]) => [`bantime.${k}`, v]));
      const policy = createEscalationPolicy(jailConfig('ref', options, { bantime: c.bantime }));
      const ours = COUNTS.map((n) => policy.banTimeFor(n, () => 0.5));
      const theirs = (reference[i] ?? []).map((t) => Math.min(MAX_ESCALATED_BANTIME, Math.max(1, Math.round(t))));
      expect(ours, JSON.stringify(c)).toEqual(theirs);
    });
  });
});
