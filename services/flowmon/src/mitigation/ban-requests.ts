import { CONTRACTS, decodeMessage, describeError, encodeMessage, SUBJECTS, type Bus, type Logger } from '@portcullis/shared';
import type { Attack } from '../detect/signals.js';

/**
 * Only attacks whose sources completed TCP handshakes prove those sources are real. A UDP, ICMP
 * or SYN source can be forged, and asking the fleet to ban it would let an attacker ban anyone.
 */
export const PROVEN_SOURCE_ATTACKS: ReadonlySet<Attack> = new Set(['http-flood', 'slowloris']);

/**
 * Asks the banners (portcullis.v1.control.banner, op "ban") to ban proven flood sources in `jail`,
 * so every host learns them. Failures are logged: the local drop set protects this host anyway.
 */
export async function requestBans(bus: Bus, jail: string, ips: readonly string[], attack: Attack, log: Logger): Promise<void> {
  if (ips.length === 0) return;
  try {
    const req = encodeMessage(CONTRACTS.controlRequest, { v: 1, op: 'ban', jail, ips: [...ips], by: `flowmon (${attack})` });
    const msg = await bus.nc.request(SUBJECTS.control, req, { timeout: 5000 });
    const reply = decodeMessage(CONTRACTS.controlReply, msg.data);
    if (!reply.ok) log.warn({ jail, code: reply.error.code, err: reply.error.message }, 'ban request refused');
    else log.info({ jail, banned: reply.done ?? [], refused: reply.refused ?? [] }, 'ban request answered');
  } catch (e) {
    log.warn({ jail, err: describeError(e) }, 'ban request not answered');
  }
}
