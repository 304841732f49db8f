import { PortcullisError } from '../errors.js';
import type { JailConfig } from './types.js';
import { parseBool } from './values.js';

/**
 * fail2ban's recidive jail reads fail2ban's own log for "Ban <ip>" lines of other jails. Portcullis
 * has the bans themselves, so a recidive jail is fed every ban decision of every other jail as a
 * failure (see BanStore.feedRecidive) and bans by the usual maxretry/findtime rule.
 *
 * A jail is recidive-like when its filter is `recidive` or it sets `recidive = true`.
 */
export function isRecidiveJail(jail: JailConfig): boolean {
  const flag = jail.options.recidive?.trim();
  if (flag !== undefined && flag !== '') {
    try {
      return parseBool('recidive', flag);
    } catch (e) {
      throw new PortcullisError('PC_CONFIG_INVALID', `recidive must be true or false, got ${JSON.stringify(flag)} (jail [${jail.name}])`, {
        location: jail.ref,
        cause: e,
      });
    }
  }
  return jail.filter.name === 'recidive';
}

/** The enabled recidive-like jails of a config. */
export function recidiveJails(jails: readonly JailConfig[]): JailConfig[] {
  return jails.filter((j) => j.enabled && isRecidiveJail(j));
}
