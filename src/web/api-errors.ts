// The one shape every web API refusal has, so dbctl and curl users read all of them the same way:
// an HTTP status and { "error": { "code": "GH_ERR_…", "message": "…", "hint"?: "…" } }, plus a few
// fields a client acts on (totp_required, retry_after_s, available). Handlers throw ApiError; the
// server turns it into the reply.
import { ErrorCodes, type ErrorCode } from '../errors.js';

export interface ApiErrorOptions {
  readonly hint?: string;
  /** Fields added next to "error" at the top level of the body, e.g. { retry_after_s: 30 }. */
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

export class ApiError extends Error {
  readonly hint?: string;
  readonly extra: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.hint = options.hint;
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }

  /** The JSON body: the error object, then the extra fields. */
  body(): Record<string, unknown> {
    return { error: { code: this.code, message: this.message, ...(this.hint === undefined ? {} : { hint: this.hint }) }, ...this.extra };
  }
}

export function badRequest(message: string, hint?: string): ApiError {
  return new ApiError(400, ErrorCodes.BAD_REQUEST, message, hint === undefined ? {} : { hint });
}

/** What a client gets for a bug: no detail (that goes to the log), only where to look. */
export function internalError(requestId: string): ApiError {
  return new ApiError(500, ErrorCodes.INTERNAL, `internal error in Gatehouse (request ${requestId})`, {
    hint: 'This is a bug in Gatehouse; the administrator can find the details in its log under this request id.',
  });
}
