/**
 * One registry of Portcullis error codes. Every error a user or a script can see carries one of
 * these codes; docs/errors.md documents each. Codes are frozen once released: add, never rename.
 */
export const ERROR_CODES = {
  PC_CONFIG_PARSE: 'A configuration file could not be parsed (syntax).',
  PC_CONFIG_INVALID: 'A configuration value is missing or invalid.',
  PC_CONFIG_INTERPOLATION: 'A %(name)s or <name> reference could not be resolved (unknown or recursive).',
  PC_CONFIG_NOT_FOUND: 'The configuration directory or a referenced file does not exist.',
  PC_FILTER_NOT_FOUND: 'A jail names a filter that is neither in filter.d nor built in.',
  PC_FILTER_INVALID: 'A filter pattern is invalid or uses a construct RE2 cannot run.',
  PC_MESSAGE_INVALID: 'A bus message failed validation against its contract.',
  PC_NATS_UNAVAILABLE: 'The NATS server could not be reached.',
  PC_REDIS_UNAVAILABLE: 'The Redis server could not be reached.',
  PC_FIREWALL: 'A firewall operation failed.',
  PC_FIREWALL_UNAVAILABLE: 'No usable firewall backend (nftables library or nft binary) was found.',
  PC_ADDRESS_INVALID: 'A value is not a valid IPv4 or IPv6 address.',
  PC_JAIL_UNKNOWN: 'The named jail does not exist or is not enabled.',
  PC_TRUSTED_ADDRESS: 'The address is trusted (ignoreip/ignoreself) and cannot be banned.',
  PC_NOT_BANNED: 'An unban named an address that is not banned.',
  PC_NOT_TRUSTED: 'An untrust named an entry that is not in the fleet-wide trusted list.',
  PC_STACK_NOT_RUNNING: 'No running Portcullis stack was found for this state directory or URL.',
  PC_LOCAL_SERVER: 'A local nats-server or redis-server could not be started.',
  PC_TIMEOUT: 'An operation did not complete in time.',
  PC_UNAUTHORIZED: 'An HTTP ingest request had no valid bearer token.',
  PC_NOTIFY_DELIVERY: 'A notification (mail, webhook) was not accepted by its receiver; the notifier retries it with backoff.',
  PC_INTERNAL: 'An unexpected internal error.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorLocation {
  file?: string;
  line?: number;
}

export class PortcullisError extends Error {
  readonly code: ErrorCode;
  readonly location: ErrorLocation | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; location?: ErrorLocation } = {}) {
    const where = formatLocation(options.location);
    super(where ? `${where}: ${message}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PortcullisError';
    this.code = code;
    this.location = options.location;
  }
}

function formatLocation(loc: ErrorLocation | undefined): string {
  if (!loc?.file) return '';
  return loc.line === undefined ? loc.file : `${loc.file}:${loc.line}`;
}

export function isPortcullisError(e: unknown, code?: ErrorCode): e is PortcullisError {
  return e instanceof PortcullisError && (code === undefined || e.code === code);
}

/** A one-line description of any thrown value, for logs and CLI output. */
export function describeError(e: unknown): string {
  if (e instanceof PortcullisError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}
