export { createPublisher, type FailureReport, type Publisher, type PublisherOptions } from './publisher.js';
export type { BanDecisionV1, FailureEventV1, LogBatchV1 } from '@portcullis/shared';
