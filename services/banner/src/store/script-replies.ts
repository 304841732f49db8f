/** First element of a deciding script's reply when it did not decide (see record-failure-script.ts). */
export const REPLY_NEEDS_BAN_COUNT = 2;
export const REPLY_TRUST_STALE = 3;
/** Escalation argument: the caller does not escalate. */
export const NO_ESCALATION = -1;
/** Escalation argument: the caller does not know the previous-ban count yet. */
export const UNKNOWN_BAN_COUNT = -2;
/** Trust-gate argument: the caller has no dynamic trust list. */
export const NO_TRUST_GATE = -1;
