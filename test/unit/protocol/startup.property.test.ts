// Properties of the startup-packet parser (readStartupPacket) and of the startup packets Gatehouse
// builds (startupMessage, cancelRequest, sslRequest): generated packets read back the same however
// the stream is cut, a decision never depends on bytes after the packet, hostile lengths are
// refused after four bytes with nothing allocated from them, and nothing but ProtocolError escapes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCodes, ProtocolError } from '../../../src/errors.js';
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, MAX_CANCEL_KEY_BYTES, MAX_STARTUP_PACKET_BYTES, SSL_REQUEST_CODE } from '../../../src/protocol/constants.js';
import { readStartupPacket, type StartupPacket } from '../../../src/protocol/startup.js';
import { cancelRequest, sslRequest, startupMessage } from '../../../src/protocol/startup-message.js';
import { asBuffer, cutPoints, everySplit, hostileLength, largestAllocation, mutate, mutation, outcome, splitAt, withInt32 } from '../../support/wire-properties.js';

const isProtocolError = (error: unknown) => error instanceof ProtocolError;

function packet(code: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeUInt32BE(code >>> 0, 4);
  return Buffer.concat([head, body]);
}

/** A parameter name or value as a client could send it: any text without NUL. */
const text = (minLength: number, maxLength: number) =>
  fc.string({ unit: 'binary', minLength, maxLength }).map((value) => Buffer.from(value.replaceAll('\0', '')).toString());

const parameters = fc
  .uniqueArray(fc.tuple(text(1, 16), text(0, 40)), { selector: ([name]) => name, maxLength: 8 })
  .map((pairs) => new Map(pairs.filter(([name]) => name !== '')));

/** A packet a real client sends before TLS or inside it, and what it must read back as. */
const validPacket: fc.Arbitrary<{ bytes: Buffer; expected: StartupPacket }> = fc.oneof(
  fc.constant({ bytes: sslRequest(), expected: { kind: 'ssl-request' } as StartupPacket }),
  fc.constant({ bytes: packet(GSSENC_REQUEST_CODE), expected: { kind: 'gssenc-request' } as StartupPacket }),
  fc
    .tuple(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.uint8Array({ minLength: 1, maxLength: MAX_CANCEL_KEY_BYTES }))
    .map(([processId, key]) => ({
      bytes: cancelRequest(processId, Buffer.from(key)),
      expected: { kind: 'cancel-request', processId, secretKey: Buffer.from(key) } as StartupPacket,
    })),
  fc.tuple(parameters, fc.nat({ max: 0xffff })).map(([params, minor]) => {
    const bytes = startupMessage(params);
    bytes.writeUInt16BE(minor, 6);
    return { bytes, expected: { kind: 'startup', majorVersion: 3, minorVersion: minor, parameters: params } as StartupPacket };
  }),
);

/** Reads packets the way StartupReader does: bytes arrive in the given chunks. */
function readAll(chunks: readonly Buffer[]): { packets: StartupPacket[]; rest: number } {
  const packets: StartupPacket[] = [];
  let buffered = Buffer.alloc(0);
  for (const chunk of chunks) {
    buffered = Buffer.concat([buffered, chunk]);
    for (let result = readStartupPacket(buffered); result !== null; result = readStartupPacket(buffered)) {
      expect(result.consumed).toBeGreaterThanOrEqual(8);
      expect(result.consumed).toBeLessThanOrEqual(buffered.length);
      packets.push(result.packet);
      buffered = buffered.subarray(result.consumed);
    }
  }
  return { packets, rest: buffered.length };
}

describe('readStartupPacket on generated packets', () => {
  it('reads back every packet a client sends, wherever the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(validPacket, { minLength: 1, maxLength: 4 }), cutPoints(600), (packets, points) => {
        const stream = Buffer.concat(packets.map((p) => p.bytes));
        fc.pre(packets.every((p) => p.bytes.length <= MAX_STARTUP_PACKET_BYTES));
        const expected = packets.map((p) => p.expected);
        expect(readAll([stream])).toEqual({ packets: expected, rest: 0 });
        expect(readAll(splitAt(stream, points))).toEqual({ packets: expected, rest: 0 });
      }),
      { numRuns: 300 },
    );
  });

  it('needs more bytes at every cut inside a packet, and reads it at every cut after', () => {
    fc.assert(
      fc.property(validPacket, (generated) => {
        for (const pieces of everySplit(generated.bytes)) expect(readAll(pieces)).toEqual({ packets: [generated.expected], rest: 0 });
        for (let cut = 0; cut < generated.bytes.length; cut++) expect(readStartupPacket(generated.bytes.subarray(0, cut))).toBeNull();
      }),
      { numRuns: 60 },
    );
  });

  it('round-trips the StartupMessage Gatehouse forwards upstream', () => {
    fc.assert(
      fc.property(parameters, (params) => {
        const bytes = startupMessage(params);
        expect(bytes.readInt32BE(0)).toBe(bytes.length);
        expect(readStartupPacket(bytes)).toEqual({ packet: { kind: 'startup', majorVersion: 3, minorVersion: 0, parameters: params }, consumed: bytes.length });
      }),
      { numRuns: 300 },
    );
  });
});

describe('readStartupPacket on hostile input', () => {
  it('decides on the bytes of the packet alone: more bytes after it never change a result or a refusal', () => {
    fc.assert(
      fc.property(fc.oneof(validPacket.map((p) => p.bytes), fc.uint8Array({ maxLength: 80 }).map(asBuffer)), fc.array(mutation, { maxLength: 3 }), fc.uint8Array({ maxLength: 40 }), (bytes, changes, extra) => {
        const buf = mutate(bytes, changes);
        const alone = outcome(() => readStartupPacket(buf), isProtocolError);
        const followed = outcome(() => readStartupPacket(Buffer.concat([buf, Buffer.from(extra)])), isProtocolError);
        if ('error' in alone) {
          expect('error' in followed && (followed.error as ProtocolError).message).toBe((alone.error as ProtocolError).message);
        } else if (alone.value !== null) {
          expect(followed).toEqual(alone);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('answers a claimed length after four bytes when it cannot be right, and allocates nothing from it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(SSL_REQUEST_CODE, GSSENC_REQUEST_CODE, CANCEL_REQUEST_CODE, 196608, 0x00030002, 0x00020000, 1234 << 16),
        hostileLength(16, [MAX_STARTUP_PACKET_BYTES, 12 + MAX_CANCEL_KEY_BYTES]),
        fc.uint8Array({ maxLength: 64 }),
        (code, length, body) => {
          const bytes = withInt32(packet(code, Buffer.from(body)), 0, length);
          if (length < 8 || length > MAX_STARTUP_PACKET_BYTES) {
            const error = outcome(() => readStartupPacket(bytes.subarray(0, 4)), isProtocolError);
            expect('error' in error).toBe(true);
            expect((error as { error: ProtocolError }).error.code).toBe(length < 8 ? ErrorCodes.PROTOCOL_VIOLATION : ErrorCodes.MESSAGE_TOO_LARGE);
          }
          let result: ReturnType<typeof outcome> | undefined;
          const largest = largestAllocation(() => {
            result = outcome(() => readStartupPacket(bytes), isProtocolError);
          });
          expect(largest).toBeLessThanOrEqual(bytes.length);
          if (result !== undefined && 'value' in result && result.value !== null) {
            expect((result.value as { consumed: number }).consumed).toBe(length);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('lets nothing but a ProtocolError escape from mutated packets fed in any pieces', () => {
    fc.assert(
      fc.property(fc.array(validPacket, { minLength: 1, maxLength: 3 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), cutPoints(400), (packets, changes, points) => {
        const stream = mutate(Buffer.concat(packets.map((p) => p.bytes)), changes);
        const whole = outcome(() => readAll([stream]), isProtocolError);
        const pieces = outcome(() => readAll(splitAt(stream, points)), isProtocolError);
        // However the bytes arrive, the same packets are read and the same refusal is made.
        if ('value' in whole) expect(pieces).toEqual(whole);
        else expect('error' in pieces && (pieces.error as Error).message).toBe((whole.error as Error).message);
      }),
      { numRuns: 500 },
    );
  });
});
