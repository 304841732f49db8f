/**
 * Every NATS subject Portcullis uses, in one place. Subject names are frozen once released: a
 * breaking change to a message gets a new version token (v2), never a reuse of v1.
 *
 * Tokens that come from user data (host and jail names) go through `subjectToken` so a name with
 * dots, spaces or wildcards can never change which subject a message lands on.
 */
export const SUBJECT_PREFIX = 'portcullis.v1';

export const SUBJECTS = {
  /** LogBatch: raw lines read by a collector (or published by another app). `.<host>` */
  logLines: `${SUBJECT_PREFIX}.log.lines`,
  /** FailureEvent: one failure of one address in one jail. `.<jail>` */
  failures: `${SUBJECT_PREFIX}.failure`,
  /**
   * FailureBatch: many failures of one jail from one log source, in one message (what the matcher
   * publishes). `.<jail>`. Stream PORTCULLIS_FAILURE_BATCHES.
   */
  failureBatches: `${SUBJECT_PREFIX}.failure-batch`,
  /** BanDecision: ban and unban decisions, enforced by every host's banner. `.<jail>` */
  decisions: `${SUBJECT_PREFIX}.decision`,
  /**
   * BanDecisionBatch: the same decisions, many of one jail per message, in the order made: what
   * every host's banner enforces from. `.<jail>`. Stream DECISION_BATCH_STREAM (the banner's own).
   */
  decisionBatches: `${SUBJECT_PREFIX}.decision-batch`,
  /** FlowSample: aggregated packet-rate samples. `.<host>` */
  flowSamples: `${SUBJECT_PREFIX}.flow.sample`,
  /** FlowAlert: flood start/update/end. `.<host>` */
  flowAlerts: `${SUBJECT_PREFIX}.flow.alert`,
  /** ControlRequest/ControlReply: request-reply to the banner (status, ban, unban). */
  control: `${SUBJECT_PREFIX}.control.banner`,
  /**
   * LogBatch, re-published by the matcher's router to one of a fixed number of partitions by host
   * (`.<partition>.<host>`), so that every line of a source reaches the matcher state of that source in
   * order. Stream PORTCULLIS_LOG_PARTS, owned by the matcher.
   */
  logPartitions: `${SUBJECT_PREFIX}.log.part`,
} as const;

/** JetStream streams: where durability matters (nothing read is lost while a consumer is down). */
export const STREAMS = {
  logs: { name: 'PORTCULLIS_LOGS', subjects: [`${SUBJECTS.logLines}.>`] },
  failures: { name: 'PORTCULLIS_FAILURES', subjects: [`${SUBJECTS.failures}.>`] },
  /**
   * A stream of its own (not a subject added to PORTCULLIS_FAILURES): a banner of an earlier version
   * reading PORTCULLIS_FAILURES would reject batches as malformed failure events and lose them;
   * here they wait for a banner that reads them.
   */
  failureBatches: { name: 'PORTCULLIS_FAILURE_BATCHES', subjects: [`${SUBJECTS.failureBatches}.>`] },
  decisions: { name: 'PORTCULLIS_DECISIONS', subjects: [`${SUBJECTS.decisions}.>`] },
  flowAlerts: { name: 'PORTCULLIS_FLOW_ALERTS', subjects: [`${SUBJECTS.flowAlerts}.>`] },
} as const;

export type StreamKey = keyof typeof STREAMS;

/**
 * The stream of decision batches. Owned and created by the banner (not in STREAMS, which every
 * service creates and iterates); kept as long as the decisions stream, for hosts that were away.
 */
export const DECISION_BATCH_STREAM = { name: 'PORTCULLIS_DECISION_BATCHES', subjects: [`${SUBJECTS.decisionBatches}.>`] } as const;

/** Maps any name to a single safe subject token (no '.', '*', '>', whitespace). Injective. */
export function subjectToken(name: string): string {
  if (name.length === 0) return '_';
  let out = '';
  for (const ch of name) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else out += '~' + ch.codePointAt(0)!.toString(16) + '~';
  }
  return out;
}

export function subjectFor(base: string, token: string): string {
  return `${base}.${subjectToken(token)}`;
}
