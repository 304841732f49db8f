import { describe, expect, it } from 'vitest';
import { createEscalationPolicy, historyTtls, isRecidiveJail, recidiveJails } from '../../src/escalation/index.js';
import { jailConfig } from './jail-fixture.js';

const DAY = 86400;

describe('offence history lifetime per jail', () => {
  it('is dbpurgeage (default 30 days), at least the longest ban plus findtime, and the recidive window', () => {
    const jails = [
      jailConfig('sshd', { dbpurgeage: '90d' }),
      jailConfig('nginx', { 'bantime.increment': 'true', 'bantime.maxtime': '60d', 'bantime.rndtime': '1h' }, { findtime: 3600 }),
      jailConfig('postfix', {}),
      jailConfig('recidive', {}, { filter: { name: 'recidive', options: {} }, findtime: 40 * DAY, bantime: 7 * DAY }),
    ];
    const policies = new Map(jails.map((j) => [j.name, createEscalationPolicy(j)]));
    const ttl = historyTtls(jails, policies);
    expect(ttl.get('sshd')).toBe(90 * DAY);
    expect(ttl.get('nginx')).toBe(60 * DAY + 3600 + 3600);
    // 30 days default, raised to the recidive jail's 40-day window
    expect(ttl.get('postfix')).toBe(40 * DAY);
    // its own longest ban (7 days) plus its findtime (40 days)
    expect(ttl.get('recidive')).toBe(47 * DAY);
  });

  it('raises every jail to the longest history of an overalljails jail', () => {
    const jails = [
      jailConfig('sshd', { 'bantime.increment': 'true', 'bantime.overalljails': 'true', dbpurgeage: '1y' }),
      jailConfig('nginx', {}),
    ];
    const ttl = historyTtls(jails, new Map(jails.map((j) => [j.name, createEscalationPolicy(j)])));
    expect(ttl.get('nginx')).toBe(ttl.get('sshd'));
    expect(ttl.get('sshd')).toBeGreaterThanOrEqual(365 * DAY);
  });

  it('recognises recidive jails by filter or option', () => {
    expect(isRecidiveJail(jailConfig('r', {}, { filter: { name: 'recidive', options: {} } }))).toBe(true);
    expect(isRecidiveJail(jailConfig('repeaters', { recidive: 'true' }))).toBe(true);
    expect(isRecidiveJail(jailConfig('recidive', { recidive: 'false' }, { filter: { name: 'recidive', options: {} } }))).toBe(false);
    expect(recidiveJails([jailConfig('sshd'), jailConfig('r', { recidive: 'yes' }), jailConfig('off', { recidive: 'yes' }, { enabled: false })]).map((j) => j.name)).toEqual(['r']);
    expect(() => isRecidiveJail(jailConfig('r', { recidive: 'perhaps' }))).toThrow(/jail\.local:12.*recidive/);
  });
});
