// Reads the untyped packets a client sends before the typed protocol starts: SSLRequest,
// GSSENCRequest, CancelRequest and StartupMessage. Each is an int32 length (counting itself), an
// int32 code or protocol version, and a body. The length is checked as soon as its four bytes are
// there, so a client claiming a gigabyte is refused without Gatehouse buffering any of it.
import { ErrorCodes, ProtocolError } from '../errors.js';
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  MAX_CANCEL_KEY_BYTES,
  MAX_STARTUP_PACKET_BYTES,
  NEWEST_MINOR_VERSION,
  PROTOCOL_MAJOR_VERSION,
  REQUEST_CODE_MAJOR,
  SSL_REQUEST_CODE,
} from './constants.js';

export type StartupPacket =
  | { kind: 'ssl-request' }
  | { kind: 'gssenc-request' }
  /** `secretKey` is a copy: 4 bytes in protocol 3.0, up to 256 in protocol 3.2. */
  | { kind: 'cancel-request'; processId: number; secretKey: Buffer }
  | { kind: 'startup'; majorVersion: 3; minorVersion: number; parameters: Map<string, string> };

/** Length and code: the smallest packet there is (SSLRequest, GSSENCRequest). */
const HEADER_BYTES = 8;
/** A CancelRequest: length, code, process id, then the secret key. */
const CANCEL_KEY_OFFSET = 12;

/**
 * Reads one startup packet from the front of `buf`. Returns null when more bytes are needed, or
 * the packet and how many bytes it took. Throws ProtocolError for anything no PostgreSQL client
 * sends. Nothing returned refers to `buf`: strings and the cancel key are copies.
 */
export function readStartupPacket(buf: Buffer): { packet: StartupPacket; consumed: number } | null {
  if (buf.length < 4) return null;
  const length = buf.readInt32BE(0);
  if (length < HEADER_BYTES) {
    throw new ProtocolError(
      `invalid startup packet: its length is ${length}, but a startup packet is at least ${HEADER_BYTES} bytes; is the client speaking the PostgreSQL protocol?`,
    );
  }
  if (length > MAX_STARTUP_PACKET_BYTES) {
    throw new ProtocolError(
      `startup packet too large: the client announced ${length} bytes, and Gatehouse accepts at most ${MAX_STARTUP_PACKET_BYTES}; send fewer or shorter connection parameters`,
      ErrorCodes.MESSAGE_TOO_LARGE,
    );
  }
  if (buf.length < HEADER_BYTES) return null;

  // Everything that decides whether the length is acceptable is known now: refuse before waiting.
  const code = buf.readUInt32BE(4);
  switch (code) {
    case SSL_REQUEST_CODE:
      requireExactLength('SSLRequest', length);
      return { packet: { kind: 'ssl-request' }, consumed: HEADER_BYTES };
    case GSSENC_REQUEST_CODE:
      requireExactLength('GSSENCRequest', length);
      return { packet: { kind: 'gssenc-request' }, consumed: HEADER_BYTES };
    case CANCEL_REQUEST_CODE:
      return readCancelRequest(buf, length);
    default:
      return readStartupMessage(buf, length, code);
  }
}

function requireExactLength(name: string, length: number): void {
  if (length !== HEADER_BYTES) {
    throw new ProtocolError(`invalid ${name}: its length is ${length}, but an ${name} is exactly ${HEADER_BYTES} bytes`);
  }
}

function readCancelRequest(buf: Buffer, length: number): { packet: StartupPacket; consumed: number } | null {
  const keyLength = length - CANCEL_KEY_OFFSET;
  if (keyLength < 1 || keyLength > MAX_CANCEL_KEY_BYTES) {
    throw new ProtocolError(
      `invalid CancelRequest: its length is ${length}; a cancel request is ${CANCEL_KEY_OFFSET + 4} bytes (protocol 3.0) or at most ${CANCEL_KEY_OFFSET + MAX_CANCEL_KEY_BYTES} (protocol 3.2)`,
    );
  }
  if (buf.length < length) return null;
  const processId = buf.readInt32BE(8);
  const secretKey = Buffer.from(buf.subarray(CANCEL_KEY_OFFSET, length));
  return { packet: { kind: 'cancel-request', processId, secretKey }, consumed: length };
}

function readStartupMessage(buf: Buffer, length: number, version: number): { packet: StartupPacket; consumed: number } | null {
  const major = version >>> 16;
  const minor = version & 0xffff;
  if (major === REQUEST_CODE_MAJOR) {
    throw new ProtocolError(
      `unsupported request code ${major}.${minor} in startup packet; Gatehouse understands SSLRequest, GSSENCRequest, CancelRequest and protocol 3 StartupMessage`,
      ErrorCodes.UNSUPPORTED_PROTOCOL,
    );
  }
  if (major !== PROTOCOL_MAJOR_VERSION) {
    throw new ProtocolError(
      `unsupported frontend protocol ${major}.${minor}: Gatehouse speaks protocol ${PROTOCOL_MAJOR_VERSION}.${NEWEST_MINOR_VERSION} (newer 3.x clients are negotiated down to it); use a client or driver that speaks protocol 3`,
      ErrorCodes.UNSUPPORTED_PROTOCOL,
    );
  }
  if (buf.length < length) return null;
  const parameters = readParameters(buf, length);
  return { packet: { kind: 'startup', majorVersion: PROTOCOL_MAJOR_VERSION, minorVersion: minor, parameters }, consumed: length };
}

/** name\0value\0 pairs from byte 8 to the end, closed by one more NUL that must be the last byte. */
function readParameters(buf: Buffer, length: number): Map<string, string> {
  // Searching a view of this packet only keeps a NUL of the next packet from ending a string here.
  const packet = buf.subarray(0, length);
  const parameters = new Map<string, string>();
  let offset = HEADER_BYTES;
  for (;;) {
    if (offset >= length) {
      throw new ProtocolError('invalid startup packet layout: the parameter list does not end with a NUL byte');
    }
    if (packet[offset] === 0) break;
    const nameEnd = packet.indexOf(0, offset);
    if (nameEnd === -1) {
      throw new ProtocolError('invalid startup packet layout: a parameter name is not NUL-terminated');
    }
    const name = packet.toString('utf8', offset, nameEnd);
    const valueEnd = packet.indexOf(0, nameEnd + 1);
    if (valueEnd === -1) {
      throw new ProtocolError(`invalid startup packet layout: the value of parameter "${printable(name)}" is missing or not NUL-terminated`);
    }
    if (parameters.has(name)) {
      throw new ProtocolError(`invalid startup packet: parameter "${printable(name)}" is given twice`);
    }
    parameters.set(name, packet.toString('utf8', nameEnd + 1, valueEnd));
    offset = valueEnd + 1;
  }
  if (offset !== length - 1) {
    throw new ProtocolError(
      `invalid startup packet layout: ${length - 1 - offset} bytes follow the NUL that ends the parameter list; the terminator must be the last byte`,
    );
  }
  return parameters;
}

/** A parameter name as it can go into an error message: short, and without control characters. */
function printable(name: string): string {
  const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
  // eslint-disable-next-line no-control-regex
  return shown.replace(/[\u0000-\u001f\u007f]/g, '?');
}
