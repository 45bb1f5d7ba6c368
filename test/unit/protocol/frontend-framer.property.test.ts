// Properties of FrontendFramer, the only parser on the client→server path after login, checked
// against a slow reference model that buffers the whole stream: for generated streams of real and
// hostile messages, with any audit cap and cut anywhere, the framer reports the same frames and
// the same refusal as the model, throws nothing but ProtocolError, and never allocates or keeps
// more than maxAuditBytes whatever length a header claims.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { ErrorCodes, ProtocolError } from '../../../src/errors.js';
import { MAX_MESSAGE_BYTES } from '../../../src/protocol/constants.js';
import { AUDITED_MESSAGE_TYPES, FrontendFramer, type AuditedFrame } from '../../../src/protocol/frontend-framer.js';
import { cutPoints, everySplit, hostileLength, largestAllocation, mutate, mutation, splitAt } from '../../support/wire-properties.js';

interface Outcome {
  frames: AuditedFrame[];
  error?: string;
  boundary?: boolean;
}

/** The reference: whole-stream parsing, the obvious way. */
function model(stream: Buffer, maxAuditBytes: number, maxMessageBytes = MAX_MESSAGE_BYTES): Outcome {
  const frames: AuditedFrame[] = [];
  let offset = 0;
  while (offset + 5 <= stream.length) {
    const type = stream[offset]!;
    const length = stream.readInt32BE(offset + 1);
    if (length < 4) return { frames, error: ErrorCodes.PROTOCOL_VIOLATION };
    if (length > maxMessageBytes) return { frames, error: ErrorCodes.MESSAGE_TOO_LARGE };
    const bodyLength = length - 4;
    const keep = Math.min(bodyLength, maxAuditBytes);
    const bodyStart = offset + 5;
    if (AUDITED_MESSAGE_TYPES.has(type) && bodyStart + keep <= stream.length) {
      frames.push({ type, body: Buffer.from(stream.subarray(bodyStart, bodyStart + keep)), bodyLength, truncated: bodyLength > keep });
    }
    offset = bodyStart + bodyLength;
  }
  return { frames, boundary: offset === stream.length };
}

function framed(chunks: readonly Buffer[], maxAuditBytes: number, maxMessageBytes?: number): Outcome & { largestHeld: number } {
  const framer = new FrontendFramer({ maxAuditBytes, maxMessageBytes });
  const frames: AuditedFrame[] = [];
  let largestHeld = 0;
  const held = () => ((framer as unknown as { pendingBody?: Buffer }).pendingBody?.length ?? 0);
  try {
    for (const chunk of chunks) {
      framer.push(chunk, (frame) => frames.push(frame));
      largestHeld = Math.max(largestHeld, held());
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { frames, error: error.code, largestHeld };
  }
  return { frames, boundary: framer.atMessageBoundary, largestHeld };
}

function message(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = type;
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** Messages a client sends after login, audited and not. */
const clientMessage: fc.Arbitrary<Buffer> = fc.oneof(
  fc.string({ maxLength: 60 }).map((sql) => serialize.query(sql)),
  fc.tuple(fc.stringMatching(/^[a-z0-9]{0,8}$/), fc.string({ maxLength: 40 }), fc.array(fc.nat({ max: 5000 }), { maxLength: 4 })).map(([name, text, types]) => serialize.parse({ name, text, types })),
  fc
    .array(fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes))), { nil: null }), { maxLength: 4 })
    .map((values) => serialize.bind({ portal: 'p', statement: 's', values })),
  fc.nat({ max: 100 }).map((rows) => serialize.execute({ portal: '', rows })),
  fc.constantFrom(serialize.sync(), serialize.flush(), serialize.end(), serialize.copyDone(), serialize.describe({ type: 'S', name: 's' }), serialize.close({ type: 'P', name: 'p' })),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => serialize.copyData(Buffer.from(bytes))),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 30 })).map(([type, body]) => message(type, Buffer.from(body))),
);

/** A message whose header claims a length around, below or far above its body. */
const lyingMessage: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(...AUDITED_MESSAGE_TYPES, 0x64, 0x53, 0x00, 0xff), hostileLength(20, [MAX_MESSAGE_BYTES]), fc.uint8Array({ maxLength: 40 }))
  .map(([type, length, body]) => {
    const bytes = message(type, Buffer.from(body));
    bytes.writeInt32BE(length, 1);
    return bytes;
  });

const stream = fc.array(fc.oneof({ weight: 4, arbitrary: clientMessage }, { weight: 1, arbitrary: lyingMessage }), { minLength: 1, maxLength: 8 }).map((parts) => Buffer.concat(parts));
const auditCap = fc.oneof(fc.constantFrom(0, 1, 4, 16, 64 * 1024), fc.nat({ max: 100 }));

describe('FrontendFramer against a reference model', () => {
  it('reports what the model reports for generated streams, however they are cut', () => {
    fc.assert(
      fc.property(stream, auditCap, cutPoints(800), (bytes, maxAuditBytes, points) => {
        const expected = model(bytes, maxAuditBytes);
        const { largestHeld: _whole, ...whole } = framed([bytes], maxAuditBytes);
        const { largestHeld, ...pieces } = framed(splitAt(bytes, points), maxAuditBytes);
        expect(whole).toEqual(expected);
        expect(pieces).toEqual(expected);
        expect(largestHeld).toBeLessThanOrEqual(maxAuditBytes);
      }),
      { numRuns: 400 },
    );
  });

  it('agrees with the model at every single cut and byte by byte', () => {
    fc.assert(
      fc.property(stream, auditCap, (bytes, maxAuditBytes) => {
        const expected = model(bytes, maxAuditBytes);
        for (const pieces of everySplit(bytes)) {
          const { largestHeld: _held, ...result } = framed(pieces, maxAuditBytes);
          expect(result).toEqual(expected);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('agrees with the model on mutated streams and a configured message cap', () => {
    fc.assert(
      fc.property(stream, fc.array(mutation, { minLength: 1, maxLength: 5 }), auditCap, fc.integer({ min: 4, max: 400 }), cutPoints(800), (bytes, changes, maxAuditBytes, maxMessageBytes, points) => {
        const mutated = mutate(bytes, changes);
        const { largestHeld: _held, ...result } = framed(splitAt(mutated, points), maxAuditBytes, maxMessageBytes);
        expect(result).toEqual(model(mutated, maxAuditBytes, maxMessageBytes));
      }),
      { numRuns: 600 },
    );
  });

  it('never allocates more than maxAuditBytes at once, whatever the headers claim', () => {
    fc.assert(
      fc.property(fc.array(lyingMessage, { minLength: 1, maxLength: 6 }), auditCap, cutPoints(300), (parts, maxAuditBytes, points) => {
        const framer = new FrontendFramer({ maxAuditBytes });
        const chunks = splitAt(Buffer.concat(parts), points);
        const largest = largestAllocation(() => {
          try {
            for (const chunk of chunks) framer.push(chunk, () => {});
          } catch (error) {
            if (!(error instanceof ProtocolError)) throw error;
          }
        });
        expect(largest).toBeLessThanOrEqual(maxAuditBytes);
      }),
      { numRuns: 500 },
    );
  });
});
