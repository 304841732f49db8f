/**
 * What a short-lived command needs to talk to a running stack: configuration, the bus contracts and
 * their codec, error codes and the runtime file, without what only the services use (the
 * OpenTelemetry SDK and its exporter, Redis, pino, NATS JetStream, libnftables). Importing the
 * package root loaded all of that: about 0.6 s of every `portcullis ban` call before it did
 * anything, against about 0.1 s for this entry.
 */
export * from './codec.js';
export * from './config/index.js';
export * from './contracts/index.js';
export * from './errors.js';
export * from './runtime.js';
export * from './subjects.js';
