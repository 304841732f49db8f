import { DeliveryError } from './delivery-error.js';

/**
 * POSTs a JSON body with Node's fetch. Success is a 2xx answer; anything else (including a
 * redirect, which is not followed) throws a DeliveryError, with the server's Retry-After if any.
 */
export async function postJson(url: string, label: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'portcullis-notifier/1', ...headers },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new DeliveryError(`POST to ${label} failed: ${describeFetchError(e)}`, { cause: e });
  }
  // Drain the body so the connection can be reused; its content is not needed beyond an excerpt.
  const text = await res.text().catch(() => '');
  if (res.ok) return;
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  const excerpt = text.replace(/\s+/g, ' ').slice(0, 200);
  throw new DeliveryError(`POST to ${label} answered ${res.status}${excerpt ? `: ${excerpt}` : ''}`, retryAfter !== undefined ? { retryAfterMs: retryAfter } : {});
}

function describeFetchError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    const inner = cause instanceof Error ? `: ${cause.message}` : '';
    return `${e.message}${inner}`;
  }
  return String(e);
}

/** Retry-After as seconds or an HTTP date, in milliseconds; capped at an hour. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), 3_600_000);
}
