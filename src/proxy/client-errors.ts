// Turns any error that ends a session into the one ErrorResponse the client receives. Gatehouse's
// own errors carry their SQLSTATE and a message written for the person at the client; the
// database's login errors go through with all their fields as the database sent them; anything
// unexpected is "XX000 internal error" to the client, with the details only in Gatehouse's log.
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { errorResponse } from '../protocol/backend-messages.js';
import { UpstreamRefusal } from './upstream-login.js';

export interface ClientError {
  readonly response: Buffer;
  readonly sqlState: string;
  readonly code: string;
  readonly message: string;
  /** True when this was a bug or an unforeseen failure rather than a refusal. */
  readonly unexpected: boolean;
}

export function clientErrorFor(error: unknown, sessionId: string): ClientError {
  if (error instanceof UpstreamRefusal) {
    return { response: error.errorResponse, sqlState: error.sqlState, code: error.code, message: error.message, unexpected: false };
  }
  if (error instanceof GatehouseError) {
    const response = errorResponse({ severity: 'FATAL', sqlState: error.sqlState, message: error.message, detail: error.detail, hint: error.hint });
    return { response, sqlState: error.sqlState, code: error.code, message: error.message, unexpected: false };
  }
  const message = `internal error in Gatehouse (session ${sessionId})`;
  return {
    response: errorResponse({
      severity: 'FATAL',
      sqlState: SqlState.INTERNAL_ERROR,
      message,
      hint: 'This is a bug in Gatehouse; the administrator can find the details in its log under this session id.',
    }),
    sqlState: SqlState.INTERNAL_ERROR,
    code: ErrorCodes.INTERNAL,
    message,
    unexpected: true,
  };
}
