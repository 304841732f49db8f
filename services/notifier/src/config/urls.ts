import type { OptionReader } from './options.js';

/** An http(s) URL from the config, or a PC_CONFIG_INVALID error at `key`. */
export function checkHttpUrl(options: OptionReader, key: string, text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw options.error(key, `${key}: ${JSON.stringify(redactUrl(text))} is not an http:// or https:// URL`);
  }
  return url.href;
}

/** The URL without its path and query, for logs and messages (a Slack URL's path is its secret). */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    return text.length > 12 ? `${text.slice(0, 12)}…` : text;
  }
}

/** The URL without query and credentials, for logs of generic webhooks. */
export function webhookLabel(text: string): string {
  const url = new URL(text);
  return `${url.protocol}//${url.host}${url.pathname}`;
}
