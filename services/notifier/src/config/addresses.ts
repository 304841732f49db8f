/**
 * E-mail addresses come only from the configuration, never from bus messages; still, they are
 * checked strictly (a dot-atom local part, a host name domain, no quoting, no spaces, no control
 * characters) so nothing but an address can ever reach a To: or From: header.
 */

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isEmailAddress(text: string): boolean {
  if (text.length > 254) return false;
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return false;
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return false;
  return domain.split('.').every((label) => DOMAIN_LABEL.test(label));
}

/** Domains are case-insensitive; local parts may not be, so they are kept as written. */
export function normalizeAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return address.slice(0, at) + address.slice(at).toLowerCase();
}

/** A display name for From: printable text only; the mailer quotes and encodes it. */
export function isDisplayName(text: string): boolean {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.length > 0 && text.length <= 128 && !/[\u0000-\u001f\u007f-\u009f\u2028\u2029"<>\\]/u.test(text);
}

export interface Mailbox {
  address: string;
  name?: string;
}
