import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  service: string;
  level?: string;
  host?: string;
  /** Defaults to stderr; tests may pass a stream. */
  destination?: NodeJS.WritableStream;
}

/** Structured JSON logs on stderr: one line per event, service and host on every line. */
export function createLogger(opts: LoggerOptions): Logger {
  const base: Record<string, string> = { service: opts.service };
  if (opts.host) base.host = opts.host;
  return pino(
    { level: opts.level ?? 'info', base, timestamp: pino.stdTimeFunctions.isoTime },
    (opts.destination ?? process.stderr) as pino.DestinationStream,
  );
}
