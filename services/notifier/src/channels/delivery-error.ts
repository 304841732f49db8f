import { PortcullisError } from '@portcullis/shared';

/** A receiver did not accept a notification. `retryAfterMs` carries a server's Retry-After. */
export class DeliveryError extends PortcullisError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super('PC_NOTIFY_DELIVERY', message, options.cause !== undefined ? { cause: options.cause } : {});
    this.name = 'DeliveryError';
    this.retryAfterMs = options.retryAfterMs;
  }
}
