// Valid protocol input for the fuzzer to start from, built from a seeded generator: PROXY protocol
// headers, the startup packets (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage), and the
// messages a client sends after login. Mutations (mutate.ts) turn these into near-misses, which
// reach deeper into the parsers than random bytes do.
import type { Prng } from './prng.js';

const SSL_REQUEST_CODE = 80877103;
const GSSENC_REQUEST_CODE = 80877104;
const CANCEL_REQUEST_CODE = 80877102;
const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value | 0);
  return out;
}

function int16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeInt16BE(value);
  return out;
}

const cstr = (text: string) => Buffer.from(`${text}\0`);

/** An untyped startup packet: int32 length (counting itself), int32 code, body. */
export function startupPacket(code: number, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([int32(8 + body.length), int32(code), body]);
}

export const sslRequest = () => startupPacket(SSL_REQUEST_CODE);
export const gssencRequest = () => startupPacket(GSSENC_REQUEST_CODE);

export function cancelRequest(processId: number, key: Buffer): Buffer {
  return startupPacket(CANCEL_REQUEST_CODE, Buffer.concat([int32(processId), key]));
}

export function startupMessage(parameters: readonly (readonly [string, string])[], minor = 0): Buffer {
  const body = Buffer.concat([...parameters.flatMap(([name, value]) => [cstr(name), cstr(value)]), Buffer.from([0])]);
  return startupPacket((3 << 16) | minor, body);
}

/** A typed message: type byte, int32 length counting itself, body. */
export function typed(type: string | number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head[0] = typeof type === 'number' ? type : type.charCodeAt(0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function text(rng: Prng, max: number): string {
  const alphabets = ['abcdefghijklmnopqrstuvwxyz_', '0123456789', ' \'"\\;%$-=()*,.', 'üéø€漢字', '\u0001\u007f'];
  let out = '';
  const length = rng.size(max);
  for (let i = 0; i < length; i++) {
    const alphabet = rng.weighted([[6, alphabets[0]!], [2, alphabets[1]!], [2, alphabets[2]!], [1, alphabets[3]!], [1, alphabets[4]!]] as const);
    out += [...alphabet][rng.int(0, [...alphabet].length - 1)];
  }
  return out;
}

/** A PROXY protocol header as a load balancer sends it (v1 text or v2 binary). */
export function proxyHeader(rng: Prng): Buffer {
  const port = () => rng.int(0, 65535);
  const ipv4 = () => [0, 0, 0, 0].map(() => rng.int(0, 255)).join('.');
  switch (rng.int(0, 5)) {
    case 0:
      return Buffer.from(`PROXY TCP4 ${ipv4()} ${ipv4()} ${port()} ${port()}\r\n`);
    case 1:
      return Buffer.from(`PROXY TCP6 2001:db8::${rng.int(0, 0xffff).toString(16)} ::1 ${port()} ${port()}\r\n`);
    case 2:
      return Buffer.from(`PROXY UNKNOWN${rng.chance(0.5) ? ` ${text(rng, 40)}` : ''}\r\n`);
    default: {
      const family = rng.pick([0x00, 0x11, 0x21, 0x31]);
      const addressBytes = { 0: 0, 17: 12, 33: 36, 49: 216 }[family as 0 | 17 | 33 | 49];
      const tlvs = rng.chance(0.3) ? Buffer.concat([Buffer.from([0xea]), Buffer.from([0, 8]), rng.bytes(8)]) : Buffer.alloc(0);
      const payload = Buffer.concat([rng.bytes(addressBytes), tlvs]);
      const fixed = Buffer.alloc(4);
      fixed[0] = rng.chance(0.85) ? 0x21 : 0x20;
      fixed[1] = family;
      fixed.writeUInt16BE(payload.length, 2);
      return Buffer.concat([V2_SIGNATURE, fixed, payload]);
    }
  }
}

/** A StartupMessage as drivers send it, sometimes with a newer minor version or _pq_ options. */
export function fuzzStartupMessage(rng: Prng, user = 'fuzzer', database = 'postgres'): Buffer {
  const parameters: [string, string][] = [];
  if (rng.chance(0.9)) parameters.push(['user', rng.chance(0.9) ? user : text(rng, 20)]);
  if (rng.chance(0.8)) parameters.push(['database', rng.chance(0.9) ? database : text(rng, 20)]);
  const extra: [string, () => string][] = [
    ['application_name', () => text(rng, 30)],
    ['client_encoding', () => rng.pick(['UTF8', 'LATIN1', 'SQL_ASCII', text(rng, 10)])],
    ['DateStyle', () => 'ISO, MDY'],
    ['options', () => rng.pick(['', '-c statement_timeout=1000', text(rng, 30)])],
    ['_pq_.fuzz', () => text(rng, 8)],
    ['replication', () => rng.pick(['true', 'database', 'false'])],
  ];
  for (const [name, value] of extra) if (rng.chance(0.25)) parameters.push([name, value()]);
  if (rng.chance(0.1)) parameters.push([text(rng, 20) || 'x', text(rng, 100)]);
  return startupMessage(parameters, rng.chance(0.85) ? 0 : rng.pick([1, 2, 0xffff]));
}

/** One startup packet of any kind. */
export function anyStartupPacket(rng: Prng): Buffer {
  switch (rng.int(0, 6)) {
    case 0:
      return sslRequest();
    case 1:
      return gssencRequest();
    case 2:
      return cancelRequest(rng.next() | 0, rng.bytes(rng.chance(0.7) ? 4 : rng.int(1, 300)));
    case 3:
      // An unknown request code (1234.x) or a protocol version nobody speaks.
      return startupPacket(rng.chance(0.5) ? (1234 << 16) | rng.int(0, 0xffff) : rng.next(), rng.bytes(rng.int(0, 16)));
    default:
      return fuzzStartupMessage(rng);
  }
}

const QUERIES = [
  'SELECT 1',
  '',
  ' ',
  ';',
  'SELECT 1; SELECT 2',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'SELECT * FROM fuzz_t LIMIT 5',
  "INSERT INTO fuzz_t VALUES (1, 'x')",
  'COPY fuzz_t FROM STDIN',
  'COPY fuzz_t TO STDOUT',
  'COPY (SELECT 1) TO STDOUT (FORMAT binary)',
  "SELECT repeat('x', 100000)",
  'LISTEN fuzz',
  "NOTIFY fuzz, 'hello'",
  'SET application_name = fuzz',
  'SELECT pg_backend_pid()',
  'SELECT $1::int',
  'SELEKT 1',
  "SELECT 'unterminated",
  'SELECT 1/0',
];

/** A realistic sequence of client messages after login: simple and extended queries, COPY, closes. */
export function frontendMessages(rng: Prng): Buffer[] {
  const messages: Buffer[] = [];
  const count = rng.int(1, 8);
  for (let i = 0; i < count; i++) {
    switch (rng.int(0, 11)) {
      case 0:
      case 1:
        messages.push(typed('Q', cstr(rng.chance(0.85) ? rng.pick(QUERIES) : text(rng, 200))));
        break;
      case 2: {
        const name = rng.chance(0.5) ? '' : `s${rng.int(0, 3)}`;
        const types = Array.from({ length: rng.int(0, 3) }, () => int32(rng.pick([0, 23, 25, 17, rng.next() | 0])));
        messages.push(typed('P', Buffer.concat([cstr(name), cstr(rng.pick(QUERIES)), int16(types.length), ...types])));
        break;
      }
      case 3: {
        const values = Array.from({ length: rng.int(0, 3) }, () => (rng.chance(0.2) ? int32(-1) : (() => {
          const value = rng.chance(0.5) ? Buffer.from(String(rng.int(-5, 1000))) : rng.bytes(rng.size(64));
          return Buffer.concat([int32(value.length), value]);
        })()));
        const formats = rng.pick([[], [0], [1], values.map(() => rng.int(0, 1))]);
        messages.push(
          typed('B', Buffer.concat([cstr(rng.chance(0.7) ? '' : 'p1'), cstr(rng.chance(0.5) ? '' : `s${rng.int(0, 3)}`), int16(formats.length), ...formats.map(int16), int16(values.length), ...values, int16(1), int16(0)])),
        );
        break;
      }
      case 4:
        messages.push(typed('D', Buffer.concat([Buffer.from(rng.pick(['S', 'P'])), cstr(rng.chance(0.5) ? '' : 's1')])));
        break;
      case 5:
        messages.push(typed('E', Buffer.concat([cstr(rng.chance(0.7) ? '' : 'p1'), int32(rng.pick([0, 1, 10]))])));
        break;
      case 6:
        messages.push(typed('S'));
        break;
      case 7:
        messages.push(typed('d', rng.chance(0.5) ? Buffer.from(`${rng.int(0, 99)}\t${text(rng, 20).replace(/[\t\n\\]/g, '')}\n`) : rng.bytes(rng.size(2000))));
        if (rng.chance(0.5)) messages.push(typed('c'));
        break;
      case 8:
        messages.push(rng.chance(0.5) ? typed('f', cstr('fuzz')) : typed('H'));
        break;
      case 9:
        messages.push(typed('C', Buffer.concat([Buffer.from(rng.pick(['S', 'P'])), cstr(rng.chance(0.5) ? '' : 's1')])));
        break;
      case 10:
        // FunctionCall: int4pl (177) with two int4 arguments in binary, or any OID.
        messages.push(typed('F', Buffer.concat([int32(rng.chance(0.5) ? 177 : rng.next() | 0), int16(1), int16(1), int16(2), int32(4), int32(rng.int(0, 9)), int32(4), int32(rng.int(0, 9)), int16(1)])));
        break;
      default:
        // A message type nobody sends, with a body.
        messages.push(typed(rng.int(0, 255), rng.bytes(rng.size(40))));
    }
  }
  if (rng.chance(0.3)) messages.push(typed('X'));
  return messages;
}
