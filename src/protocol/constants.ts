// Numbers of the PostgreSQL frontend/backend protocol (version 3) that Gatehouse reads or writes,
// named once so that the framing code reads as the protocol documentation does.
// Reference: https://www.postgresql.org/docs/current/protocol-message-formats.html

/** Request codes in the second int32 of an untyped startup packet (1234 in the high 16 bits). */
export const SSL_REQUEST_CODE = 80877103; // 1234.5679
export const GSSENC_REQUEST_CODE = 80877104; // 1234.5680
export const CANCEL_REQUEST_CODE = 80877102; // 1234.5678
/** The high 16 bits every request code above shares; a "version" with this major is a request. */
export const REQUEST_CODE_MAJOR = 1234;

/** Protocol version 3.0 as sent in a StartupMessage: major in the high 16 bits, minor in the low. */
export const PROTOCOL_3_0 = 196608;
export const PROTOCOL_MAJOR_VERSION = 3;
/** The newest minor version Gatehouse speaks; newer clients are answered with NegotiateProtocolVersion. */
export const NEWEST_MINOR_VERSION = 0;

/** PostgreSQL's own MAX_STARTUP_PACKET_LENGTH: no real client sends a longer startup packet. */
export const MAX_STARTUP_PACKET_BYTES = 10_000;
/**
 * PostgreSQL's PQ_LARGE_MESSAGE_LIMIT (1 GiB − 1), compared, as the server does, with the length
 * field (which counts itself). A client cannot get a longer message past the server anyway.
 */
export const MAX_MESSAGE_BYTES = 0x3fffffff;
/** Protocol 3.0 cancel keys are 4 bytes; protocol 3.2 allows up to 256 (PostgreSQL's MAX_CANCEL_KEY_LENGTH). */
export const MAX_CANCEL_KEY_BYTES = 256;

/** Type bytes of messages a client sends. */
export const FrontendMessageType = {
  BIND: 0x42, // 'B'
  CLOSE: 0x43, // 'C'
  COPY_DATA: 0x64, // 'd'
  COPY_DONE: 0x63, // 'c'
  COPY_FAIL: 0x66, // 'f'
  DESCRIBE: 0x44, // 'D'
  EXECUTE: 0x45, // 'E'
  FLUSH: 0x48, // 'H'
  FUNCTION_CALL: 0x46, // 'F'
  /** PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse all use 'p'. */
  PASSWORD: 0x70, // 'p'
  PARSE: 0x50, // 'P'
  QUERY: 0x51, // 'Q'
  SYNC: 0x53, // 'S'
  TERMINATE: 0x58, // 'X'
} as const;

/** Type bytes of messages a server sends. */
export const BackendMessageType = {
  AUTHENTICATION: 0x52, // 'R'
  BACKEND_KEY_DATA: 0x4b, // 'K'
  BIND_COMPLETE: 0x32, // '2'
  CLOSE_COMPLETE: 0x33, // '3'
  COMMAND_COMPLETE: 0x43, // 'C'
  COPY_DATA: 0x64, // 'd'
  COPY_DONE: 0x63, // 'c'
  COPY_IN_RESPONSE: 0x47, // 'G'
  COPY_OUT_RESPONSE: 0x48, // 'H'
  COPY_BOTH_RESPONSE: 0x57, // 'W'
  DATA_ROW: 0x44, // 'D'
  EMPTY_QUERY_RESPONSE: 0x49, // 'I'
  ERROR_RESPONSE: 0x45, // 'E'
  FUNCTION_CALL_RESPONSE: 0x56, // 'V'
  NEGOTIATE_PROTOCOL_VERSION: 0x76, // 'v'
  NO_DATA: 0x6e, // 'n'
  NOTICE_RESPONSE: 0x4e, // 'N'
  NOTIFICATION_RESPONSE: 0x41, // 'A'
  PARAMETER_DESCRIPTION: 0x74, // 't'
  PARAMETER_STATUS: 0x53, // 'S'
  PARSE_COMPLETE: 0x31, // '1'
  PORTAL_SUSPENDED: 0x73, // 's'
  READY_FOR_QUERY: 0x5a, // 'Z'
  ROW_DESCRIPTION: 0x54, // 'T'
} as const;

/** The authentication request code of AuthenticationOk. */
export const AUTH_OK = 0;

/** Bytes in a typed message header: the type byte and the int32 length. */
export const MESSAGE_HEADER_BYTES = 5;

/** How a message type byte reads in an error message: 'Q' when printable, 0x00 otherwise. */
export function describeMessageType(type: number): string {
  return type >= 0x21 && type <= 0x7e ? `'${String.fromCharCode(type)}'` : `0x${type.toString(16).padStart(2, '0')}`;
}
