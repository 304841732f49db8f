import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { describeError, isPortcullisError, PortcullisError, RejectCounter, systemClock, type Clock, type FailureEventV1, type Logger } from '@portcullis/shared';
import type { SourceChunk } from '../sources/source.js';
import { TokenVerifier, type IngestToken } from './auth.js';
import { HttpError } from './http-error.js';
import { toChunk, toFailureEvent, type RequestContext } from './normalize.js';
import { FailureArray, FailureInput, issueDetails, LinesBody } from './schemas.js';

export interface IngestServerOptions {
  /** Address to bind. Default 127.0.0.1: exposing it further is a deliberate choice. */
  host?: string;
  /** 0 picks a free port (see listen()'s result). */
  port: number;
  tokens: readonly IngestToken[];
  /** The enabled jails; a request naming another one gets 422. */
  jails: readonly string[];
  /** Resolves once JetStream stored the event (publishDurable); rejects when the bus is unavailable. */
  publishFailure: (ev: FailureEventV1) => Promise<void>;
  /** Resolves once JetStream stored the lines (publishChunk with source "http"). */
  publishLines: (host: string, chunk: SourceChunk) => Promise<void>;
  log: Logger;
  /** The collector's host name, the default `host` of events and lines. */
  hostName: string;
  clock?: Clock;
  /** Largest accepted body. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** For GET /v1/health: whether the bus connection is up. Default: always up. */
  busConnected?: () => boolean | Promise<boolean>;
}

export interface IngestStats {
  failures: number;
  lines: number;
  /** Requests refused, by error code (PC_MESSAGE_INVALID, PC_UNAUTHORIZED, PC_JAIL_UNKNOWN, ...). */
  refused: Record<string, number>;
}

export interface IngestServer {
  listen(): Promise<{ host: string; port: number }>;
  /** Stops accepting, lets requests in flight finish (their publishes included), then closes. */
  close(): Promise<void>;
  stats(): IngestStats;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Seconds a client should wait before retrying after a 503. */
const RETRY_AFTER_S = 2;

/**
 * HTTP ingest for applications that cannot speak NATS: POST /v1/failures, POST /v1/lines,
 * GET /v1/health. A 202 is sent only after JetStream acknowledged the publish; when the bus is
 * unavailable the answer is 503 and the client retries (ids are deterministic, so a retry of a
 * publish that did land is stored once).
 */
export function createIngestServer(opts: IngestServerOptions): IngestServer {
  const verifier = new TokenVerifier(opts.tokens);
  const jails = new Set(opts.jails);
  const clock = opts.clock ?? systemClock;
  const log = opts.log;
  const complaints = new RejectCounter();
  const stats: IngestStats = { failures: 0, lines: 0, refused: {} };
  const clients = new WeakMap<FastifyRequest, string>();

  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  // JSON only: a text/plain body would otherwise reach the handlers as a string.
  app.removeContentTypeParser('text/plain');
  let closing = false;
  // A keep-alive connection whose request was in flight at close() would otherwise hold close()
  // until its keep-alive timeout: answer it and hang up.
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  const refuse = (reply: FastifyReply, e: HttpError, req: FastifyRequest): FastifyReply => {
    stats.refused[e.code] = (stats.refused[e.code] ?? 0) + 1;
    const { count, shouldLog } = complaints.record(e.code);
    if (shouldLog) log.warn({ code: e.code, status: e.status, route: req.url, from: req.ip, client: clients.get(req), count, err: e.message }, 'ingest: request refused');
    return reply.code(e.status).headers(e.headers).send(e.body());
  };

  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/v1/health' || req.url.startsWith('/v1/health?')) return;
    const client = verifier.verify(req.headers.authorization);
    if (!client) {
      const e = new HttpError(401, 'PC_UNAUTHORIZED', req.headers.authorization ? 'the bearer token is not valid' : 'missing "Authorization: Bearer <token>" header', undefined, {
        'www-authenticate': 'Bearer realm="portcullis"',
      });
      return refuse(reply, e, req);
    }
    clients.set(req, client);
  });

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => refuse(reply, toHttpError(err), req));
  app.setNotFoundHandler((req, reply) => refuse(reply, new HttpError(404, 'PC_MESSAGE_INVALID', `no route ${req.method} ${req.url.split('?')[0]}; routes: POST /v1/failures, POST /v1/lines, GET /v1/health`), req));

  const context = (req: FastifyRequest): RequestContext => ({ client: clients.get(req) ?? 'unknown', host: opts.hostName, now: clock.now() });

  const checkJails = (names: Iterable<string>): void => {
    const unknown = [...new Set(names)].filter((j) => !jails.has(j));
    if (unknown.length > 0) {
      throw new HttpError(422, 'PC_JAIL_UNKNOWN', `unknown or disabled jail${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, unknown.map((j) => ({ path: 'jail', message: `no enabled jail named ${JSON.stringify(j)}` })));
    }
  };

  app.post('/v1/failures', async (req, reply) => {
    const body = req.body;
    const parsed = Array.isArray(body) ? FailureArray.safeParse(body) : FailureInput.safeParse(body);
    if (!parsed.success) throw new HttpError(400, 'PC_MESSAGE_INVALID', 'the failure does not match the schema (see docs/ingest.md)', issueDetails(parsed.error));
    const inputs = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
    checkJails(inputs.map((i) => i.jail));
    const ctx = context(req);
    const events = inputs.map((i) => toFailureEvent(i, ctx));
    await publishing(() => Promise.all(events.map((ev) => opts.publishFailure(ev))));
    stats.failures += events.length;
    return reply.code(202).send({ accepted: events.length, ids: events.map((e) => e.id) });
  });

  app.post('/v1/lines', async (req, reply) => {
    const parsed = LinesBody.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'PC_MESSAGE_INVALID', 'the lines do not match the schema (see docs/ingest.md)', issueDetails(parsed.error));
    const { host, chunk } = toChunk(parsed.data, context(req));
    checkJails(chunk.jails);
    await publishing(() => opts.publishLines(host, chunk));
    stats.lines += chunk.lines.length;
    return reply.code(202).send({ accepted: chunk.lines.length, id: chunk.chunkId });
  });

  app.get('/v1/health', async (_req, reply) => {
    const up = (await opts.busConnected?.()) ?? true;
    return reply.code(up ? 200 : 503).send({ ok: up, bus: up ? 'connected' : 'disconnected' });
  });

  let listening = false;
  return {
    async listen() {
      const host = opts.host ?? '127.0.0.1';
      try {
        await app.listen({ host, port: opts.port });
      } catch (e) {
        throw new PortcullisError('PC_CONFIG_INVALID', `ingest: cannot listen on ${host}:${opts.port}: ${describeError(e)}`, { cause: e });
      }
      listening = true;
      const a = app.server.address();
      const port = a !== null && typeof a === 'object' ? a.port : opts.port;
      log.info({ host, port, tokens: opts.tokens.map((t) => t.name) }, 'ingest listening');
      return { host, port };
    },
    async close() {
      if (!listening) return;
      listening = false;
      closing = true;
      await app.close();
    },
    stats: () => structuredClone(stats),
  };
}

/** Publishes; any failure other than our own validation means "not stored": 503, retry. */
async function publishing(publish: () => Promise<unknown>): Promise<void> {
  try {
    await publish();
  } catch (e) {
    if (isPortcullisError(e, 'PC_MESSAGE_INVALID')) throw new HttpError(500, 'PC_INTERNAL', `built an invalid message: ${e.message}`);
    throw new HttpError(503, 'PC_NATS_UNAVAILABLE', `the event bus did not store the message (${describeError(e)}); nothing was accepted, retry later`, undefined, {
      'retry-after': String(RETRY_AFTER_S),
    });
  }
}

/** Fastify's own refusals (bad JSON, body too large, wrong media type) in our error shape. */
function toHttpError(err: FastifyError | HttpError): HttpError {
  if (err instanceof HttpError) return err;
  const status = err.statusCode ?? 500;
  if (status >= 500) return new HttpError(500, 'PC_INTERNAL', describeError(err));
  const message =
    err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
      ? `the body is larger than the limit: ${err.message}`
      : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? 'send the body as application/json'
        : err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
          ? 'the body is empty; expected JSON'
          : `the body is not valid JSON: ${err.message}`;
  return new HttpError(status, 'PC_MESSAGE_INVALID', message);
}
