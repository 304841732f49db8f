/**
 * Test agent for the iptables backend and the jail-actions combiner, run inside a network
 * namespace (see ScriptAgent), so iptables, ipset and nft only ever touch that namespace.
 */
import { createLogger } from '@portcullis/shared';
import type { BanEntry, FirewallBackend, JailEnforcement } from '../../src/firewall/backend.js';
import { createIptablesBackend, iptablesBinaries } from '../../src/firewall/iptables/iptables-backend.js';
import { createJailActions } from '../../src/firewall/command/jail-actions.js';
import { builtinFirewallRegistry } from '../../src/firewall/registry.js';
import { serveRequests } from './script-agent.js';

const log = createLogger({ service: 'ipt-test-driver', level: 'silent' });
const state: { backend?: FirewallBackend } = {};

function backend(): FirewallBackend {
  if (!state.backend) throw new Error('create a backend first');
  return state.backend;
}

/** 10.0.0.0/8 addresses counted from `base`; they are only ever set elements, never contacted. */
function generateEntries(jail: string, count: number, timeoutSec: number | null, base = 0): BanEntry[] {
  const out: BanEntry[] = [];
  for (let i = base; i < base + count; i++) out.push({ jail, ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, timeoutSec });
  return out;
}

serveRequests(
  async (op, a) => {
    switch (op) {
      case 'iptables.create':
        state.backend?.close();
        state.backend = createIptablesBackend({
          log,
          owner: (a.owner as string | undefined) ?? 'portcullis',
          binaries: iptablesBinaries(a.variant as 'system' | 'nft' | 'legacy'),
        });
        return null;
      case 'jailActions.create':
        state.backend?.close();
        state.backend = createJailActions({
          main: a.main as string,
          registry: builtinFirewallRegistry(),
          backendOptions: { table: a.table as string, log },
          stateDir: a.stateDir as string,
          log,
        });
        return null;
      case 'setup':
        return backend().setup(a.jails as JailEnforcement[]);
      case 'ban':
        return backend().ban(a.entries as BanEntry[]);
      case 'unban':
        return backend().unban(a.entries as { jail: string; ip: string }[]);
      case 'list':
        return backend().list(a.jail as string | undefined);
      case 'reconcile':
        return backend().reconcile(a.desired as BanEntry[]);
      case 'teardown':
        return backend().teardown();
      case 'close':
        backend().close();
        state.backend = undefined;
        return null;
      case 'ban.generated': {
        // Generated here so the measured time is the backend's, not the pipe's.
        const entries = generateEntries(a.jail as string, a.count as number, a.timeoutSec as number | null, (a.base as number) ?? 0);
        const t0 = performance.now();
        await backend().ban(entries);
        return { ms: performance.now() - t0 };
      }
      case 'reconcile.generated': {
        const entries = generateEntries(a.jail as string, a.count as number, a.timeoutSec as number | null, (a.base as number) ?? 0);
        const t0 = performance.now();
        await backend().reconcile(entries);
        return { ms: performance.now() - t0 };
      }
      default:
        throw new Error(`unknown op ${op}`);
    }
  },
  () => state.backend?.close(),
);
