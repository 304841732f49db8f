/** NATS' default max payload is 1 MiB: stay well below it, JSON overhead included. */
const MAX_PART_BYTES = 512 * 1024;
const MAX_PART_LINES = 5_000;
/** Per-line overhead of {"text":"…","readAt":…} in a LogBatch. */
const LINE_OVERHEAD = 40;

/** Lines split into LogBatch-sized parts, in order. */
export function splitLines(lines: readonly string[]): string[][] {
  const parts: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const l of lines) {
    const size = Buffer.byteLength(l) + LINE_OVERHEAD;
    if (cur.length > 0 && (bytes + size > MAX_PART_BYTES || cur.length >= MAX_PART_LINES)) {
      parts.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(l);
    bytes += size;
  }
  if (cur.length > 0) parts.push(cur);
  return parts;
}
