import type { z } from 'zod';
import { SUBJECTS } from '../subjects.js';
import { BanDecisionV1 } from './ban-decision.js';
import { ControlReplyV1, ControlRequestV1 } from './control.js';
import { BanDecisionBatchV1 } from './decision-batch.js';
import { FailureBatchV1 } from './failure-batch.js';
import { FailureEventV1 } from './failure-event.js';
import { FlowAlertV1, FlowSampleV1 } from './flow.js';
import { LogBatchV1 } from './log-batch.js';

export * from './ban-decision.js';
export * from './common.js';
export * from './control.js';
export * from './decision-batch.js';
export * from './failure-batch.js';
export * from './failure-event.js';
export * from './flow.js';
export * from './log-batch.js';

/** A message type bound to its subject: one subject, one versioned schema. */
export interface Contract<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly subject: string;
  readonly schema: S;
}

function contract<S extends z.ZodType>(name: string, subject: string, schema: S): Contract<S> {
  return Object.freeze({ name, subject, schema });
}

export const CONTRACTS = {
  logBatch: contract('LogBatch.v1', SUBJECTS.logLines, LogBatchV1),
  failure: contract('FailureEvent.v1', SUBJECTS.failures, FailureEventV1),
  failureBatch: contract('FailureBatch.v1', SUBJECTS.failureBatches, FailureBatchV1),
  decision: contract('BanDecision.v1', SUBJECTS.decisions, BanDecisionV1),
  decisionBatch: contract('BanDecisionBatch.v1', SUBJECTS.decisionBatches, BanDecisionBatchV1),
  flowSample: contract('FlowSample.v1', SUBJECTS.flowSamples, FlowSampleV1),
  flowAlert: contract('FlowAlert.v1', SUBJECTS.flowAlerts, FlowAlertV1),
  controlRequest: contract('ControlRequest.v1', SUBJECTS.control, ControlRequestV1),
  controlReply: contract('ControlReply.v1', SUBJECTS.control, ControlReplyV1),
} as const;
