import { context, propagation, trace, SpanKind, SpanStatusCode, type Context, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { MsgHdrs } from '@nats-io/transport-node';

export { SpanKind, SpanStatusCode, context, trace, type Context, type Span };

export interface TracingOptions {
  serviceName: string;
  host: string;
  /** OTLP/HTTP traces URL (e.g. http://collector:4318/v1/traces); empty: spans are created and propagated but not exported. */
  otlpEndpoint?: string;
  /** Extra exporter (tests use an in-memory one). */
  exporter?: SpanExporter;
}

export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK. Called only from a service's main.ts (or the all-in-one entry):
 * library code uses the API alone, which is a no-op until this runs.
 */
export function startTracing(opts: TracingOptions): Tracing {
  const spanProcessors: SpanProcessor[] = [];
  if (opts.otlpEndpoint) spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.otlpEndpoint })));
  if (opts.exporter) spanProcessors.push(new BatchSpanProcessor(opts.exporter, { scheduledDelayMillis: 50 }));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName, 'host.name': opts.host }),
    spanProcessors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return { shutdown: () => provider.shutdown() };
}

export const tracer = () => trace.getTracer('portcullis');

/** Writes the current (or given) trace context into NATS headers. */
export function injectTrace(hdrs: MsgHdrs, ctx: Context = context.active()): void {
  propagation.inject(ctx, hdrs, { set: (h, k, v) => h.set(k, v) });
}

/** Reads a trace context from NATS headers; a message without headers starts a new trace. */
export function extractTrace(hdrs: MsgHdrs | undefined): Context {
  if (!hdrs) return context.active();
  return propagation.extract(context.active(), hdrs, {
    get: (h, k) => (h.has(k) ? h.get(k) : undefined),
    keys: (h) => h.keys(),
  });
}

/** Runs fn inside a span that is a child of `parent`, ending it (with the error, if any) afterwards. */
export async function withSpan<T>(name: string, parent: Context, attrs: Record<string, string | number>, fn: (span: Span) => Promise<T>): Promise<T> {
  const span = tracer().startSpan(name, { kind: SpanKind.CONSUMER, attributes: attrs }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    span.recordException(e as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
    throw e;
  } finally {
    span.end();
  }
}
