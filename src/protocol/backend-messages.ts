// Builds the server→client messages Gatehouse sends itself: its own errors and notices, the
// AuthenticationOk / BackendKeyData / ReadyForQuery that finish a client's login, and the one-byte
// answers to SSLRequest and GSSENCRequest. Each call returns a fresh Buffer the caller owns.
//
// Strings may carry text a client or database chose (a user name in an error message). They are
// written as UTF-8 with every NUL replaced, because a NUL would end the field early and let the
// rest of the value be read as further fields or messages.
import { AUTH_OK, BackendMessageType, MAX_CANCEL_KEY_BYTES } from './constants.js';

export type Severity = 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE';

export interface ErrorResponseFields {
  severity: Severity;
  /** Five characters of [0-9A-Z]; anything else is sent as XX000 (internal error). */
  sqlState: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** The answer to an SSLRequest that Gatehouse accepts. Shared: never write into it. */
export const SSL_ACCEPT = Buffer.from('S');
/** The answer to an SSLRequest or GSSENCRequest that Gatehouse refuses. Shared: never write into it. */
export const SSL_REFUSE = Buffer.from('N');

const NUL_REPLACEMENT = '\uFFFD';
const SQLSTATE_PATTERN = /^[0-9A-Z]{5}$/;
const FALLBACK_SQLSTATE = 'XX000';

/** `text` with each NUL replaced, so it can be written as one NUL-terminated protocol string. */
export function wireString(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', NUL_REPLACEMENT) : text;
}

export function errorResponse(fields: ErrorResponseFields): Buffer {
  return errorOrNotice(BackendMessageType.ERROR_RESPONSE, fields);
}

export function noticeResponse(fields: ErrorResponseFields): Buffer {
  return errorOrNotice(BackendMessageType.NOTICE_RESPONSE, fields);
}

function errorOrNotice(type: number, fields: ErrorResponseFields): Buffer {
  const sqlState = SQLSTATE_PATTERN.test(fields.sqlState) ? fields.sqlState : FALLBACK_SQLSTATE;
  // S is the severity a client shows (localized by a real server; Gatehouse speaks English) and V
  // the same word never localized, which clients since PostgreSQL 9.6 rely on.
  const pairs: [number, string][] = [
    [0x53 /* S */, fields.severity],
    [0x56 /* V */, fields.severity],
    [0x43 /* C */, sqlState],
    [0x4d /* M */, fields.message],
  ];
  if (fields.detail !== undefined) pairs.push([0x44 /* D */, fields.detail]);
  if (fields.hint !== undefined) pairs.push([0x48 /* H */, fields.hint]);

  const values = pairs.map(([, value]) => wireString(value));
  let bodyLength = 1; // the terminating zero byte
  for (const value of values) bodyLength += 1 + Buffer.byteLength(value) + 1;
  const message = header(type, bodyLength);
  let offset = 5;
  pairs.forEach(([code], index) => {
    message[offset++] = code;
    offset += message.write(values[index]!, offset, 'utf8');
    message[offset++] = 0;
  });
  message[offset] = 0;
  return message;
}

export function authenticationOk(): Buffer {
  const message = header(BackendMessageType.AUTHENTICATION, 4);
  message.writeInt32BE(AUTH_OK, 5);
  return message;
}

export function parameterStatus(name: string, value: string): Buffer {
  const safeName = wireString(name);
  const safeValue = wireString(value);
  const nameBytes = Buffer.byteLength(safeName);
  const message = header(BackendMessageType.PARAMETER_STATUS, nameBytes + 1 + Buffer.byteLength(safeValue) + 1);
  message.write(safeName, 5, 'utf8');
  message[5 + nameBytes] = 0;
  message.write(safeValue, 5 + nameBytes + 1, 'utf8');
  message[message.length - 1] = 0;
  return message;
}

/** Throws RangeError for a process id that is not an int32 or a key outside 4..256 bytes (a Gatehouse bug). */
export function backendKeyData(processId: number, secretKey: Buffer): Buffer {
  if (!Number.isInteger(processId) || processId < -0x80000000 || processId > 0x7fffffff) {
    throw new RangeError(`BackendKeyData process id ${processId} is not an int32`);
  }
  if (secretKey.length < 4 || secretKey.length > MAX_CANCEL_KEY_BYTES) {
    throw new RangeError(`BackendKeyData secret key is ${secretKey.length} bytes; it must be 4 to ${MAX_CANCEL_KEY_BYTES}`);
  }
  const message = header(BackendMessageType.BACKEND_KEY_DATA, 4 + secretKey.length);
  message.writeInt32BE(processId, 5);
  secretKey.copy(message, 9);
  return message;
}

export function readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  const message = header(BackendMessageType.READY_FOR_QUERY, 1);
  message[5] = status.charCodeAt(0);
  return message;
}

/**
 * Tells a client asking for a newer minor version, or for `_pq_.` protocol options, what
 * Gatehouse will speak instead: the newest minor version it supports and the options it ignored.
 */
export function negotiateProtocolVersion(newestMinor: number, unrecognizedOptions: string[]): Buffer {
  if (!Number.isInteger(newestMinor) || newestMinor < 0 || newestMinor > 0xffff) {
    throw new RangeError(`protocol minor version ${newestMinor} is not between 0 and 65535`);
  }
  const options = unrecognizedOptions.map(wireString);
  let bodyLength = 8;
  for (const option of options) bodyLength += Buffer.byteLength(option) + 1;
  const message = header(BackendMessageType.NEGOTIATE_PROTOCOL_VERSION, bodyLength);
  message.writeInt32BE(newestMinor, 5);
  message.writeInt32BE(options.length, 9);
  let offset = 13;
  for (const option of options) {
    offset += message.write(option, offset, 'utf8');
    message[offset++] = 0;
  }
  return message;
}

/** A zero-filled message of `bodyLength` body bytes with its type and length already written. */
function header(type: number, bodyLength: number): Buffer {
  const message = Buffer.alloc(5 + bodyLength);
  message[0] = type;
  message.writeInt32BE(4 + bodyLength, 1);
  return message;
}
