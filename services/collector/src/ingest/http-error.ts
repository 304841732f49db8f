import type { ErrorCode } from '@portcullis/shared';

export interface ErrorDetail {
  /** Where in the body, e.g. "[2].ip" or "lines[0]"; "" for the body itself. */
  path: string;
  message: string;
}

/** The one error shape every ingest response uses: `{ "error": { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: ErrorDetail[] };
}

/** A request the server refuses, with the HTTP status and the Portcullis error code to answer with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}
