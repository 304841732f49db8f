export { createIngestServer, type IngestServer, type IngestServerOptions, type IngestStats } from './ingest-server.js';
export { ingestPublishers } from './bus-publishers.js';
export { ingestConfig, type IngestConfig } from './config.js';
export { TokenVerifier, MIN_TOKEN_LENGTH, type IngestToken } from './auth.js';
export type { ErrorBody, ErrorDetail } from './http-error.js';
