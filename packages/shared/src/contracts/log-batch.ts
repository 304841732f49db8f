import { z } from 'zod';
import { epochMs, name } from './common.js';

/**
 * portcullis.v1.log.lines.<host> — lines read by a collector, or published by another application.
 * Lines are bounded so one message stays well under NATS' default 1 MiB payload limit.
 */
export const LogLine = z.object({
  text: z.string().max(65_536),
  /** When the collector read the line. */
  readAt: epochMs,
});

export const LogBatchV1 = z.object({
  v: z.literal(1),
  /** Deterministic per chunk (source identity + offset), so a re-publish is recognised. */
  id: z.string().min(1).max(256),
  host: name,
  /** Source kind: file, journal, syslog, http, app. */
  source: z.string().min(1).max(32),
  /** File path, journal unit, syslog listener... */
  origin: z.string().min(1).max(4096),
  /** Jails whose filters must see these lines. */
  jails: z.array(name).min(1).max(256),
  lines: z.array(LogLine).min(1).max(10_000),
});
export type LogBatchV1 = z.infer<typeof LogBatchV1>;
