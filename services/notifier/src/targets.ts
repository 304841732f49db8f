import { createHash } from 'node:crypto';
import type { Target } from './channels/types.js';

/** A short stable id for a target (its key may hold a secret URL): names its consumers and KV keys. */
export function targetId(target: Target): string {
  return createHash('sha256').update(target.key).digest('hex').slice(0, 16);
}

/** Durable consumer name of a target on each stream it reads. */
export function durableName(id: string): string {
  return `${CONSUMER_PREFIX}${id}`;
}

export const CONSUMER_PREFIX = 'ntf-';
/** The consumer the first, log-only notifier used; removed so it does not pile up pending messages. */
export const LEGACY_DURABLE = 'notifier';
