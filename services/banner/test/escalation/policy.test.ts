import { describe, expect, it } from 'vitest';
import { isPortcullisError } from '@portcullis/shared';
import { createEscalationPolicy, MAX_ESCALATED_BANTIME } from '../../src/escalation/index.js';
import { jailConfig } from './jail-fixture.js';

/**
 * Expected values come from fail2ban's own code (server/jail.py setBanTimeExtra, server/observer.py
 * incrBanTime): for an address banned `n` times before (n > 0) and a positive bantime,
 *   multipliers set: ban.Time * banFactor * multipliers[n if n < len else -1]
 *   else:            max(ban.Time, <formula>), formula default
 *                    ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor
 *   then min(.., maxtime) if maxtime, then + random() * rndtime if rndtime;
 * n = 0 (first ban) keeps bantime untouched. Portcullis rounds to whole seconds.
 */
const never = (): number => {
  throw new Error('rnd must not be called');
};
const policy = (options: Record<string, string>, bantime = 600) => createEscalationPolicy(jailConfig('sshd', options, { bantime }));
const times = (p: ReturnType<typeof policy>, counts: number[], rnd: () => number = never) => counts.map((n) => p.banTimeFor(n, rnd));

describe('escalation policy: fail2ban bantime.* semantics', () => {
  it('without bantime.increment every ban lasts bantime', () => {
    expect(times(policy({ 'bantime.factor': '4', 'bantime.maxtime': '1h' }), [0, 1, 5, 50])).toEqual([600, 600, 600, 600]);
  });

  it('default formula doubles per previous ban and saturates at 2^20', () => {
    const p = policy({ 'bantime.increment': 'true' });
    expect(p.formula).toBe('ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor');
    expect(times(p, [0, 1, 2, 3, 19, 20, 21, 40])).toEqual([600, 1200, 2400, 4800, 600 * 2 ** 19, 600 * 2 ** 20, 600 * 2 ** 20, 600 * 2 ** 20]);
  });

  it('bantime.factor multiplies the default formula (jail.conf: "grows by 1, 2, 4, 8, 16 ..." times the factor)', () => {
    // fail2ban evaluates the factor as a Python expression as well
    expect(times(policy({ 'bantime.increment': 'yes', 'bantime.factor': '2' }), [0, 1, 2])).toEqual([600, 2400, 4800]);
    expect(policy({ 'bantime.factor': '3 * 0.5' }).factor).toBe(1.5);
  });

  it("supports jail.conf's exponential formula example with its documented factor", () => {
    const f = 2.0 / 2.885385;
    const p = policy({
      'bantime.increment': 'true',
      'bantime.factor': '2.0 / 2.885385',
      'bantime.formula': 'ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)',
    });
    const expected = [1, 2, 3, 4].map((n) => Math.round(600 * Math.exp((n + 1) * f) / Math.exp(1 * f)));
    expect(times(p, [1, 2, 3, 4])).toEqual(expected);
    // "has the same values" as the default formula, to the second
    expect(expected).toEqual([1200, 2400, 4800, 9600]);
  });

  it('a formula result below bantime is raised to bantime (max(ban.Time, formula))', () => {
    expect(times(policy({ 'bantime.increment': 'true', 'bantime.formula': 'ban.Time / (ban.Count + 1)' }), [1, 2])).toEqual([600, 600]);
  });

  it('bantime.multipliers take precedence over the formula and repeat their last value', () => {
    const p = policy({ 'bantime.increment': 'true', 'bantime.multipliers': '1 2 4 8 16 32 64', 'bantime.formula': 'ban.Time * 1000' });
    // jail.conf: "for factor '1' and original ban time 600 - 10.6 hours" at the last multiplier
    expect(times(p, [0, 1, 2, 6, 7, 30])).toEqual([600, 1200, 2400, 38400, 38400, 38400]);
    // jail.conf's second example, bantime = 60: 1 min, 5 min, 30 min, 1 hour, 5 hour, 12 hour, 1 day, 2 day
    const q = policy({ 'bantime.increment': 'true', 'bantime.multipliers': '1 5 30 60 300 720 1440 2880' }, 60);
    expect(times(q, [1, 2, 3, 4, 5, 6, 7, 8])).toEqual([300, 1800, 3600, 18000, 43200, 86400, 172800, 172800]);
    // the factor multiplies multipliers too
    expect(times(policy({ 'bantime.increment': 'true', 'bantime.multipliers': '1 2 4', 'bantime.factor': '2' }), [1, 2])).toEqual([2400, 4800]);
  });

  it('bantime.maxtime caps the escalation', () => {
    expect(times(policy({ 'bantime.increment': 'true', 'bantime.maxtime': '1h' }), [1, 2, 3, 10])).toEqual([1200, 2400, 3600, 3600]);
  });

  it('bantime.rndtime adds random() * rndtime after maxtime, only to escalated bans', () => {
    const p = policy({ 'bantime.increment': 'true', 'bantime.maxtime': '1h', 'bantime.rndtime': '10m' });
    expect(p.banTimeFor(1, () => 0.5)).toBe(1200 + 300);
    expect(p.banTimeFor(5, () => 0.25)).toBe(3600 + 150);
    expect(p.banTimeFor(0, never)).toBe(600);
  });

  it('never escalates a permanent bantime', () => {
    expect(times(policy({ 'bantime.increment': 'true' }, -1), [0, 1, 5])).toEqual([-1, -1, -1]);
  });

  it('keeps bantime when the formula fails for a count, as fail2ban does on an exception', () => {
    // probed counts (1..64) succeed; 70 divides by zero
    const p = policy({ 'bantime.increment': 'true', 'bantime.formula': 'ban.Time * 2 + 100 / (ban.Count - 70)' });
    expect(p.banTimeFor(1, never)).toBe(Math.round(1200 + 100 / -69));
    expect(p.banTimeFor(70, never)).toBe(600);
  });

  it('caps unbounded growth at 2^31-1 seconds', () => {
    const p = policy({ 'bantime.increment': 'true', 'bantime.formula': 'ban.Time * math.exp(ban.Count * 50)' });
    expect(p.banTimeFor(20, never)).toBe(MAX_ESCALATED_BANTIME);
  });

  it('reads overalljails and is frozen', () => {
    const p = policy({ 'bantime.increment': 'true', 'bantime.overalljails': 'true' });
    expect(p.overallJails).toBe(true);
    expect(policy({}).overallJails).toBe(false);
    expect(Object.isFrozen(p)).toBe(true);
  });

  it('treats empty values as unset, like fail2ban', () => {
    expect(times(policy({ 'bantime.increment': 'true', 'bantime.maxtime': '', 'bantime.formula': '', 'bantime.multipliers': ' ' }), [3])).toEqual([4800]);
  });

  it('warns about unknown bantime.* options instead of failing (fail2ban ignores them)', () => {
    expect(policy({ 'bantime.multiplier': '2' }).warnings).toEqual([expect.stringContaining('bantime.multiplier')]);
  });

  it('rejects invalid options at start with the jail file and line', () => {
    const bad: Record<string, string>[] = [
      { 'bantime.formula': "__import__('os').system('touch /tmp/pwned')" },
      { 'bantime.formula': 'ban.Time * (1 / (ban.Count - 3))' },
      { 'bantime.formula': 'ban.Time * open("/etc/passwd")' },
      { 'bantime.factor': '0' },
      { 'bantime.factor': 'ban.Count' },
      { 'bantime.multipliers': '1 2 x' },
      { 'bantime.multipliers': '1 0 4' },
      { 'bantime.maxtime': 'soon' },
      { 'bantime.maxtime': '0' },
      { 'bantime.rndtime': '-5' },
      { 'bantime.increment': 'maybe' },
      { 'bantime.overalljails': 'sometimes' },
    ];
    for (const options of bad) {
      let err: unknown;
      try {
        policy(options);
      } catch (e) {
        err = e;
      }
      expect(isPortcullisError(err, 'PC_CONFIG_INVALID'), JSON.stringify(options)).toBe(true);
      expect((err as Error).message).toContain('/etc/portcullis/jail.local:12');
      expect((err as Error).message).toContain(Object.keys(options)[0]);
    }
  });
});
