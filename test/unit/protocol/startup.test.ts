import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { ErrorCodes, ProtocolError } from '../../../src/errors.js';
import { MAX_STARTUP_PACKET_BYTES, PROTOCOL_3_0 } from '../../../src/protocol/constants.js';
import { readStartupPacket, type StartupPacket } from '../../../src/protocol/startup.js';

function packet(code: number, body: Buffer = Buffer.alloc(0), length = 8 + body.length): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(length, 0);
  head.writeUInt32BE(code >>> 0, 4);
  return Buffer.concat([head, body]);
}

function startup(parameters: [string, string][], version = PROTOCOL_3_0): Buffer {
  const body = Buffer.concat([...parameters.flatMap(([name, value]) => [Buffer.from(`${name}\0`), Buffer.from(`${value}\0`)]), Buffer.from([0])]);
  return packet(version, body);
}

function cancel(processId: number, key: Buffer): Buffer {
  const body = Buffer.alloc(4);
  body.writeInt32BE(processId);
  return packet(80877102, Buffer.concat([body, key]));
}

const SSL_REQUEST = Buffer.from([0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f]);
const GSSENC_REQUEST = Buffer.from([0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x30]);

function caught(action: () => unknown): ProtocolError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

/** Reads packets the way a socket delivers them: bytes arrive in the given chunks. */
function readAll(chunks: Buffer[]): StartupPacket[] {
  const packets: StartupPacket[] = [];
  let buffered = Buffer.alloc(0);
  for (const chunk of chunks) {
    buffered = Buffer.concat([buffered, chunk]);
    for (let result = readStartupPacket(buffered); result !== null; result = readStartupPacket(buffered)) {
      packets.push(result.packet);
      buffered = buffered.subarray(result.consumed);
    }
  }
  expect(buffered.length).toBe(0);
  return packets;
}

describe('readStartupPacket on real packets', () => {
  it('reads an SSLRequest, byte for byte what pg sends', () => {
    expect(serialize.requestSsl()).toEqual(SSL_REQUEST);
    expect(readStartupPacket(SSL_REQUEST)).toEqual({ packet: { kind: 'ssl-request' }, consumed: 8 });
  });

  it('reads a GSSENCRequest', () => {
    expect(readStartupPacket(GSSENC_REQUEST)).toEqual({ packet: { kind: 'gssenc-request' }, consumed: 8 });
  });

  it('reads a protocol 3.0 CancelRequest as pg sends it, copying the key', () => {
    const bytes = serialize.cancel(4242, 0x01020304);
    const result = readStartupPacket(bytes)!;
    expect(result).toEqual({ packet: { kind: 'cancel-request', processId: 4242, secretKey: Buffer.from([1, 2, 3, 4]) }, consumed: 16 });
    bytes.fill(0);
    expect((result.packet as Extract<StartupPacket, { kind: 'cancel-request' }>).secretKey).toEqual(Buffer.from([1, 2, 3, 4]));
  });

  it('reads a protocol 3.2 CancelRequest with a 32-byte key and the 256-byte maximum', () => {
    const key = Buffer.alloc(32, 7);
    expect(readStartupPacket(cancel(1, key))).toEqual({ packet: { kind: 'cancel-request', processId: 1, secretKey: key }, consumed: 44 });
    expect(readStartupPacket(cancel(1, Buffer.alloc(256, 1)))?.consumed).toBe(268);
  });

  it('reads a StartupMessage as pg sends it', () => {
    const bytes = serialize.startup({ user: 'alice', database: 'sales', application_name: 'psql' });
    const result = readStartupPacket(bytes)!;
    expect(result.consumed).toBe(bytes.length);
    expect(result.packet).toEqual({
      kind: 'startup',
      majorVersion: 3,
      minorVersion: 0,
      parameters: new Map([
        ['user', 'alice'],
        ['database', 'sales'],
        ['application_name', 'psql'],
        ['client_encoding', 'UTF8'],
      ]),
    });
  });

  it('reads a protocol 3.2 StartupMessage with a _pq_ option, empty values and UTF-8', () => {
    const bytes = startup(
      [
        ['user', 'zoë'],
        ['options', ''],
        ['_pq_.test', 'x'],
      ],
      (3 << 16) | 2,
    );
    expect(readStartupPacket(bytes)?.packet).toEqual({
      kind: 'startup',
      majorVersion: 3,
      minorVersion: 2,
      parameters: new Map([
        ['user', 'zoë'],
        ['options', ''],
        ['_pq_.test', 'x'],
      ]),
    });
  });

  it('returns null for every prefix and the packet once it is whole, without reading past it', () => {
    const packets = [SSL_REQUEST, GSSENC_REQUEST, serialize.cancel(7, 9), startup([['user', 'bob']])];
    for (const bytes of packets) {
      const whole = readStartupPacket(bytes);
      for (let cut = 0; cut < bytes.length; cut++) expect(readStartupPacket(bytes.subarray(0, cut)), `cut at ${cut}`).toBeNull();
      expect(readStartupPacket(Buffer.concat([bytes, serialize.query('SELECT 1')]))).toEqual(whole);
    }
  });

  it('reads the same packets wherever the stream is split', () => {
    const stream = Buffer.concat([SSL_REQUEST, startup([['user', 'bob'], ['database', 'db']])]);
    const expected = readAll([stream]);
    expect(expected.map((p) => p.kind)).toEqual(['ssl-request', 'startup']);
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(readAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
    expect(readAll(Array.from(stream, (byte) => Buffer.from([byte])))).toEqual(expected);
  });

  it('reads any well-formed StartupMessage back, however it is split', () => {
    const name = fc.string({ minLength: 1, maxLength: 20 }).filter((text) => !text.includes('\0'));
    const value = fc.string({ maxLength: 40 }).filter((text) => !text.includes('\0'));
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, value), { selector: ([n]) => n, maxLength: 8 }), fc.nat({ max: 0xffff }), fc.nat(), (pairs, minor, at) => {
        // Lone surrogates do not survive UTF-8; compare what the bytes say.
        const utf8 = (text: string) => Buffer.from(text).toString();
        if (new Set(pairs.map(([n]) => utf8(n))).size !== pairs.length) return;
        const bytes = startup(pairs, (3 << 16) | minor);
        if (bytes.length > MAX_STARTUP_PACKET_BYTES) return;
        const cut = at % (bytes.length + 1);
        const [result] = readAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
        expect(result).toEqual({ kind: 'startup', majorVersion: 3, minorVersion: minor, parameters: new Map(pairs.map(([n, v]) => [utf8(n), utf8(v)])) });
      }),
      { numRuns: 500 },
    );
  });
});

describe('readStartupPacket length checks', () => {
  for (const length of [-1, -0x80000000, 0, 3, 4, 7]) {
    it(`refuses a length of ${length} after four bytes`, () => {
      const error = caught(() => readStartupPacket(packet(PROTOCOL_3_0, Buffer.alloc(0), length).subarray(0, 4)));
      expect(error.code).toBe(ErrorCodes.PROTOCOL_VIOLATION);
      expect(error.message).toContain(String(length));
    });
  }

  for (const length of [MAX_STARTUP_PACKET_BYTES + 1, 0x40000000, 0x7fffffff]) {
    it(`refuses a length of ${length} after four bytes, naming the limit`, () => {
      const error = caught(() => readStartupPacket(packet(PROTOCOL_3_0, Buffer.alloc(0), length).subarray(0, 4)));
      expect(error.code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
      expect(error.message).toContain(String(length));
      expect(error.message).toContain(String(MAX_STARTUP_PACKET_BYTES));
    });
  }

  it('waits for a packet of exactly the maximum length', () => {
    const head = packet(PROTOCOL_3_0, Buffer.alloc(0), MAX_STARTUP_PACKET_BYTES);
    expect(readStartupPacket(head.subarray(0, 4))).toBeNull();
    expect(readStartupPacket(head)).toBeNull();
    const value = 'v'.repeat(MAX_STARTUP_PACKET_BYTES - 8 - 'options\0'.length - 2);
    const result = readStartupPacket(Buffer.concat([head, Buffer.from(`options\0${value}\0\0`)]));
    expect(result?.consumed).toBe(MAX_STARTUP_PACKET_BYTES);
  });

  it('refuses an SSLRequest or GSSENCRequest that is not 8 bytes long', () => {
    for (const code of [80877103, 80877104]) {
      expect(caught(() => readStartupPacket(packet(code, Buffer.alloc(0), 9).subarray(0, 8))).message).toMatch(/exactly 8 bytes/);
      expect(caught(() => readStartupPacket(packet(code, Buffer.alloc(8)))).message).toContain('16');
    }
  });

  it('refuses a CancelRequest whose length is wrong, before waiting for its key', () => {
    for (const length of [8, 12, 269, 10_000]) {
      const error = caught(() => readStartupPacket(packet(80877102, Buffer.alloc(0), length).subarray(0, 8)));
      expect(error.message).toContain(`length is ${length}`);
    }
    expect(readStartupPacket(packet(80877102, Buffer.alloc(0), 13).subarray(0, 8))).toBeNull();
  });

  it('refuses a StartupMessage whose length is one short or one long', () => {
    const bytes = startup([['user', 'bob']]);
    const short = Buffer.from(bytes);
    short.writeInt32BE(bytes.length - 1, 0);
    expect(caught(() => readStartupPacket(short)).message).toMatch(/does not end with a NUL/);
    const long = Buffer.from(bytes);
    long.writeInt32BE(bytes.length + 1, 0);
    expect(readStartupPacket(long)).toBeNull();
    expect(caught(() => readStartupPacket(Buffer.concat([long, Buffer.from([0x51])]))).message).toMatch(/1 bytes follow the NUL/);
  });
});

describe('readStartupPacket refusals', () => {
  it('refuses protocol 2 and protocol 4, naming the version and protocol 3', () => {
    for (const [version, shown] of [
      [0x00020000, '2.0'],
      [0x00040001, '4.1'],
      [0, '0.0'],
    ] as const) {
      const error = caught(() => readStartupPacket(packet(version, Buffer.alloc(4)).subarray(0, 8)));
      expect(error.code).toBe(ErrorCodes.UNSUPPORTED_PROTOCOL);
      expect(error.message).toContain(`protocol ${shown}`);
      expect(error.message).toContain('protocol 3');
    }
  });

  it('refuses an unknown request code', () => {
    const error = caught(() => readStartupPacket(packet((1234 << 16) | 5681)));
    expect(error.message).toContain('1234.5681');
  });

  it('refuses malformed parameter lists', () => {
    const cases: [Buffer, RegExp][] = [
      [packet(PROTOCOL_3_0), /does not end with a NUL/],
      [packet(PROTOCOL_3_0, Buffer.from('user')), /name is not NUL-terminated/],
      [packet(PROTOCOL_3_0, Buffer.from('user\0')), /value of parameter "user" is missing/],
      [packet(PROTOCOL_3_0, Buffer.from('user\0bob')), /value of parameter "user" is missing/],
      [packet(PROTOCOL_3_0, Buffer.from('user\0bob\0')), /does not end with a NUL/],
      [packet(PROTOCOL_3_0, Buffer.from('user\0bob\0\0\0')), /1 bytes follow the NUL/],
      [packet(PROTOCOL_3_0, Buffer.from('user\0bob\0user\0eve\0\0')), /parameter "user" is given twice/],
      [packet(PROTOCOL_3_0, Buffer.from('us\x01er\0bob\0us\x01er\0eve\0\0')), /parameter "us\?er" is given twice/],
    ];
    for (const [bytes, message] of cases) expect(caught(() => readStartupPacket(bytes)).message).toMatch(message);
  });

  it('does not take a NUL from the next packet to end a string', () => {
    const bytes = Buffer.concat([packet(PROTOCOL_3_0, Buffer.from('user\0bob')), Buffer.from([0, 0])]);
    expect(caught(() => readStartupPacket(bytes)).message).toMatch(/value of parameter "user"/);
  });

  it('lets nothing but a ProtocolError escape for random bytes', () => {
    const anyPacket = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
      fc
        .tuple(fc.integer({ min: -10, max: 300 }), fc.constantFrom(80877102, 80877103, 80877104, PROTOCOL_3_0, (3 << 16) | 2, 0x00020000, 1234 << 16), fc.uint8Array({ maxLength: 300 }))
        .map(([length, code, body]) => packet(code, Buffer.from(body), length)),
      fc
        .array(fc.constantFrom('user', 'database', '\0', 'x', ''), { maxLength: 12 })
        .map((parts) => packet(PROTOCOL_3_0, Buffer.from(parts.join('\0')))),
    );
    fc.assert(
      fc.property(anyPacket, (bytes) => {
        let result;
        try {
          result = readStartupPacket(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
          return;
        }
        if (result !== null) {
          expect(result.consumed).toBeGreaterThanOrEqual(8);
          expect(result.consumed).toBeLessThanOrEqual(bytes.length);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
