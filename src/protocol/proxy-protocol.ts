// The PROXY protocol (HAProxy's spec, versions 1 and 2): the header a load balancer such as an AWS
// NLB puts in front of a TCP stream to say who the real client is. This is the pure parser: it is
// given the bytes received so far and says whether they need more, are a complete header (and how
// many bytes it took), or are not a PROXY header at all. It never reads past the header, so the
// bytes after it stay with the caller for the PostgreSQL startup. Malformed input throws
// ProxyProtocolError and nothing else; lengths are checked before they are used, so no claimed
// length makes it buffer more than MAX_V1_HEADER_BYTES or MAX_V2_HEADER_BYTES.
import net from 'node:net';
import { ErrorCodes, ProtocolError } from '../errors.js';

/** The v1 line, "PROXY " to CRLF included: the spec's worst case is 107 bytes. */
export const MAX_V1_HEADER_BYTES = 107;
/** The fixed part of a v2 header: signature, version/command, family, length. */
export const V2_FIXED_BYTES = 16;
/**
 * The most a v2 header's length field may announce. The field allows 65535; addresses take at most
 * 216 bytes and load balancers' TLVs (AWS's VPC endpoint id, HAProxy's SSL details) a few hundred,
 * so anything beyond this is refused rather than buffered before the client has proven anything.
 */
export const MAX_V2_PAYLOAD_BYTES = 4096;

const V1_SIGNATURE = Buffer.from('PROXY ', 'ascii');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

const V2_ADDRESS_BYTES = { inet: 12, inet6: 36, unix: 216 } as const;

export interface ProxiedAddress {
  readonly address: string;
  readonly port: number;
}

export interface ProxyHeader {
  readonly version: 1 | 2;
  /** LOCAL: the sender's own connection (a health check); the socket's address is the client's. */
  readonly command: 'LOCAL' | 'PROXY';
  /** 'unknown' (v1 UNKNOWN, v2 UNSPEC) and 'unix' carry no IP address: use the socket's. */
  readonly family: 'tcp4' | 'tcp6' | 'unix' | 'unknown';
  /** The real client; absent for LOCAL, unknown and unix. */
  readonly source?: ProxiedAddress;
  /** The address the client connected to (the load balancer's listener). */
  readonly destination?: ProxiedAddress;
}

export type ProxyParseResult =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'not-a-header' }
  | { readonly kind: 'header'; readonly header: ProxyHeader; readonly consumed: number };

export class ProxyProtocolError extends ProtocolError {
  constructor(message: string) {
    super(message, ErrorCodes.PROXY_PROTOCOL);
  }
}

/** Parses the PROXY header at the front of `buf` (all the bytes received so far). */
export function parseProxyHeader(buf: Buffer): ProxyParseResult {
  if (buf.length === 0) return { kind: 'need-more' };
  if (startsLike(buf, V2_SIGNATURE)) {
    return buf.length < V2_SIGNATURE.length ? { kind: 'need-more' } : parseV2(buf);
  }
  if (startsLike(buf, V1_SIGNATURE)) {
    return buf.length < V1_SIGNATURE.length ? { kind: 'need-more' } : parseV1(buf);
  }
  return { kind: 'not-a-header' };
}

/** Whether `buf` and `signature` agree on their common length (and `buf` is not empty). */
function startsLike(buf: Buffer, signature: Buffer): boolean {
  if (buf.length === 0) return false;
  const common = Math.min(buf.length, signature.length);
  return buf.subarray(0, common).equals(signature.subarray(0, common));
}

function parseV1(buf: Buffer): ProxyParseResult {
  const searchable = buf.subarray(0, MAX_V1_HEADER_BYTES);
  const end = searchable.indexOf('\r\n', 0, 'latin1');
  if (end === -1) {
    if (buf.length >= MAX_V1_HEADER_BYTES) {
      throw new ProxyProtocolError(`invalid PROXY protocol v1 header: no CRLF within ${MAX_V1_HEADER_BYTES} bytes`);
    }
    return { kind: 'need-more' };
  }
  const line = buf.toString('latin1', V1_SIGNATURE.length, end);
  const consumed = end + 2;
  const fields = line.split(' ');
  const protocol = fields[0];
  if (protocol === 'UNKNOWN') {
    // The spec lets the rest of the line be anything; the receiver must ignore it.
    return { kind: 'header', consumed, header: { version: 1, command: 'PROXY', family: 'unknown' } };
  }
  if (protocol !== 'TCP4' && protocol !== 'TCP6') {
    throw new ProxyProtocolError(`invalid PROXY protocol v1 header: unknown protocol ${JSON.stringify(protocol)}; expected TCP4, TCP6 or UNKNOWN`);
  }
  if (fields.length !== 5) {
    throw new ProxyProtocolError('invalid PROXY protocol v1 header: expected "PROXY TCP4|TCP6 source destination source-port destination-port"');
  }
  const [, sourceText, destinationText, sourcePortText, destinationPortText] = fields as [string, string, string, string, string];
  const isFamily = protocol === 'TCP4' ? net.isIPv4 : isPlainIPv6;
  for (const address of [sourceText, destinationText]) {
    if (!isFamily(address)) {
      throw new ProxyProtocolError(`invalid PROXY protocol v1 header: ${JSON.stringify(address)} is not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
    }
  }
  return {
    kind: 'header',
    consumed,
    header: {
      version: 1,
      command: 'PROXY',
      family: protocol === 'TCP4' ? 'tcp4' : 'tcp6',
      source: { address: sourceText, port: parseV1Port(sourcePortText) },
      destination: { address: destinationText, port: parseV1Port(destinationPortText) },
    },
  };
}

/**
 * net.isIPv6 also accepts a scope zone ("fe80::1%eth0"): no address a socket on another host
 * reports, not the spec's textual form, and refused by HAProxy's own parser (inet_pton).
 */
function isPlainIPv6(text: string): boolean {
  return net.isIPv6(text) && !text.includes('%');
}

function parseV1Port(text: string): number {
  // Decimal, no sign, no leading zero (the spec's wording); at most 65535.
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) {
    throw new ProxyProtocolError(`invalid PROXY protocol v1 header: ${JSON.stringify(text)} is not a port number`);
  }
  return Number(text);
}

function parseV2(buf: Buffer): ProxyParseResult {
  if (buf.length < V2_FIXED_BYTES) return { kind: 'need-more' };
  const versionCommand = buf[12] as number;
  const familyTransport = buf[13] as number;
  const payloadLength = buf.readUInt16BE(14);
  if (versionCommand >> 4 !== 2) {
    throw new ProxyProtocolError(`invalid PROXY protocol v2 header: version ${versionCommand >> 4}, expected 2`);
  }
  const commandBits = versionCommand & 0x0f;
  if (commandBits > 1) throw new ProxyProtocolError(`invalid PROXY protocol v2 header: unknown command ${commandBits}`);
  const command = commandBits === 0 ? 'LOCAL' : 'PROXY';
  if (payloadLength > MAX_V2_PAYLOAD_BYTES) {
    throw new ProxyProtocolError(`PROXY protocol v2 header too large: it announces ${payloadLength} bytes after the fixed part, and Gatehouse accepts at most ${MAX_V2_PAYLOAD_BYTES}`);
  }
  const family = v2Family(familyTransport, command);
  if (family !== 'unknown') {
    const needed = V2_ADDRESS_BYTES[family === 'tcp4' ? 'inet' : family === 'tcp6' ? 'inet6' : 'unix'];
    // For LOCAL the addresses are to be ignored, but a length too short for them is still a lie.
    if (payloadLength < needed) {
      throw new ProxyProtocolError(`invalid PROXY protocol v2 header: its length ${payloadLength} is too short for the ${needed} bytes of a ${family} address block`);
    }
  }
  const consumed = V2_FIXED_BYTES + payloadLength;
  if (buf.length < consumed) return { kind: 'need-more' };
  // What follows the addresses (TLVs: AWS's VPC endpoint id, checksums, SSL details) is skipped.
  if (command === 'LOCAL') return { kind: 'header', consumed, header: { version: 2, command, family: 'unknown' } };
  if (family === 'unknown' || family === 'unix') return { kind: 'header', consumed, header: { version: 2, command, family } };
  const payload = buf.subarray(V2_FIXED_BYTES, consumed);
  const header: ProxyHeader =
    family === 'tcp4'
      ? {
          version: 2,
          command,
          family,
          source: { address: ipv4(payload.subarray(0, 4)), port: payload.readUInt16BE(8) },
          destination: { address: ipv4(payload.subarray(4, 8)), port: payload.readUInt16BE(10) },
        }
      : {
          version: 2,
          command,
          family,
          source: { address: ipv6(payload.subarray(0, 16)), port: payload.readUInt16BE(32) },
          destination: { address: ipv6(payload.subarray(16, 32)), port: payload.readUInt16BE(34) },
        };
  return { kind: 'header', consumed, header };
}

function v2Family(familyTransport: number, command: 'LOCAL' | 'PROXY'): ProxyHeader['family'] {
  switch (familyTransport) {
    case 0x00:
      return 'unknown';
    case 0x11:
      return 'tcp4';
    case 0x21:
      return 'tcp6';
    case 0x31:
      return 'unix';
    default:
      // A LOCAL header's family does not matter (it describes no client); for PROXY only stream
      // transports make sense in front of PostgreSQL.
      if (command === 'LOCAL') return 'unknown';
      throw new ProxyProtocolError(
        `invalid PROXY protocol v2 header: address family/transport byte 0x${familyTransport.toString(16).padStart(2, '0')} is not TCP over IPv4, TCP over IPv6, a UNIX stream or unspecified`,
      );
  }
}

function ipv4(bytes: Buffer): string {
  return [...bytes].join('.');
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let offset = 0; offset < 16; offset += 2) groups.push(bytes.readUInt16BE(offset).toString(16));
  // Node's own formatting, so it matches what a socket's remoteAddress would say.
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}
