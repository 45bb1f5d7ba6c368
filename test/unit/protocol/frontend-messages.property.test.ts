// Properties of decodeAuditedFrame, which turns the audited client messages into audit records:
// generated Query, Parse, Bind, Execute, Close, FunctionCall and Terminate messages decode to what
// they were built from; any head the framer cuts off decodes without throwing; hostile value
// lengths and counts are refused with ProtocolError only, with nothing allocated from them; and a
// rendered value never outgrows the parameter cap.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ProtocolError } from '../../../src/errors.js';
import { FrontendFramer, type AuditedFrame } from '../../../src/protocol/frontend-framer.js';
import { decodeAuditedFrame, TRUNCATION_MARKER, type AuditedMessage } from '../../../src/protocol/frontend-messages.js';
import { hostileLength, largestAllocation, mutate, mutation, outcome } from '../../support/wire-properties.js';

const isProtocolError = (error: unknown) => error instanceof ProtocolError;
const cstr = (text: string) => Buffer.from(`${text}\0`);
const int16 = (value: number) => {
  const bytes = Buffer.alloc(2);
  bytes.writeInt16BE(value);
  return bytes;
};
const int32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
};
const uint32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
};

function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
}

/** Text without NUL that survives a UTF-8 round trip (what a decoded cstring can be). */
const text = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength }).map((value) => value.replaceAll('\0', ''));

/** Values in text (0) or binary (1) format with the format-code layout a client may choose. */
const valueList = fc
  .tuple(fc.array(fc.option(fc.tuple(fc.constantFrom(0, 1), fc.oneof(text(12).map((t) => Buffer.from(t)), fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)))), { nil: null }), { maxLength: 5 }), fc.constantFrom('none', 'one', 'each'))
  .map(([items, layout]) => {
    const allFormat = items.find((item) => item !== null)?.[0] ?? 0;
    const formats = layout === 'none' ? [] : layout === 'one' ? [allFormat] : items.map((item) => item?.[0] ?? 0);
    const formatOf = (index: number) => (layout === 'none' ? 0 : layout === 'one' ? allFormat : formats[index]!);
    const bytes = Buffer.concat([int16(formats.length), ...formats.map(int16), int16(items.length), ...items.flatMap((item) => (item === null ? [int32(-1)] : [int32(item[1].length), item[1]]))]);
    const rendered = items.map((item, index) => {
      if (item === null) return null;
      return formatOf(index) === 1 ? `\\x${item[1].toString('hex')}` : item[1].toString('utf8');
    });
    return { bytes, rendered };
  });

/** A message and the record it must decode to (values short enough that no cap applies). */
const auditedMessage: fc.Arbitrary<{ bytes: Buffer; expected: AuditedMessage }> = fc.oneof(
  text(60).map((sql) => ({ bytes: message('Q', cstr(sql)), expected: { type: 'query', sql } as AuditedMessage })),
  fc.tuple(text(10), text(60), fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 4 })).map(([statement, sql, oids]) => ({
    bytes: message('P', cstr(statement), cstr(sql), int16(oids.length), ...oids.map(uint32)),
    expected: { type: 'parse', statement, sql, parameterTypeOids: oids } as AuditedMessage,
  })),
  fc.tuple(text(10), text(10), valueList, fc.array(fc.constantFrom(0, 1), { maxLength: 3 })).map(([portal, statement, values, results]) => ({
    bytes: message('B', cstr(portal), cstr(statement), values.bytes, int16(results.length), ...results.map(int16)),
    expected: { type: 'bind', portal, statement, parameters: values.rendered } as AuditedMessage,
  })),
  fc.tuple(text(10), fc.nat({ max: 0xffffffff })).map(([portal, maxRows]) => ({
    bytes: message('E', cstr(portal), uint32(maxRows)),
    expected: { type: 'execute', portal, maxRows } as AuditedMessage,
  })),
  fc.tuple(fc.constantFrom('S', 'P'), text(10)).map(([target, name]) => ({
    bytes: message('C', Buffer.from(target), cstr(name)),
    expected: { type: 'close', target: target === 'S' ? 'statement' : 'portal', name } as AuditedMessage,
  })),
  fc.tuple(fc.nat({ max: 0xffffffff }), valueList, fc.constantFrom(0, 1)).map(([oid, values, result]) => ({
    bytes: message('F', uint32(oid), values.bytes, int16(result)),
    expected: { type: 'function-call', functionOid: oid, arguments: values.rendered } as AuditedMessage,
  })),
  fc.constant({ bytes: message('X'), expected: { type: 'terminate' } as AuditedMessage }),
);

function frameOf(bytes: Buffer, maxAuditBytes?: number): AuditedFrame {
  const frames: AuditedFrame[] = [];
  new FrontendFramer({ maxAuditBytes }).push(bytes, (frame) => frames.push(frame));
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

describe('decodeAuditedFrame on generated messages', () => {
  it('decodes each message to what it was built from', () => {
    fc.assert(
      fc.property(auditedMessage, ({ bytes, expected }) => {
        expect(decodeAuditedFrame(frameOf(bytes))).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes every head the framer can cut off without throwing, marking the cut', () => {
    fc.assert(
      fc.property(auditedMessage, ({ bytes, expected }) => {
        for (let max = 0; max <= bytes.length - 5; max++) {
          const frame = frameOf(bytes, max);
          const decoded = decodeAuditedFrame(frame);
          expect(decoded.type).toBe(expected.type);
          if (!frame.truncated) expect(decoded).toEqual(expected);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('keeps every rendered value within the parameter cap plus the marker', () => {
    // The cap counts bytes of the value; each byte renders as at most one UTF-16 unit (an invalid
    // byte as one U+FFFD), so the shown text is bounded by the cap whatever the client sent.
    fc.assert(
      fc.property(auditedMessage, fc.integer({ min: 0, max: 16 }), ({ bytes }, maxParameterBytes) => {
        const decoded = decodeAuditedFrame(frameOf(bytes), { maxParameterBytes });
        const values = decoded.type === 'bind' ? decoded.parameters : decoded.type === 'function-call' ? decoded.arguments : [];
        for (const value of values) {
          if (value === null) continue;
          const shown = value.endsWith(TRUNCATION_MARKER) ? value.slice(0, -TRUNCATION_MARKER.length) : value;
          const limit = shown.startsWith('\\x') ? 2 + 2 * Math.floor(maxParameterBytes / 2) : maxParameterBytes;
          expect(shown.length).toBeLessThanOrEqual(limit);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('decodeAuditedFrame on hostile messages', () => {
  it('refuses lying value lengths and counts with ProtocolError only, allocating nothing from them', () => {
    const lying = fc.tuple(fc.constantFrom('B', 'F'), hostileLength(4, [0x7fff, 0xffff]), hostileLength(4), fc.uint8Array({ maxLength: 16 }), fc.boolean()).map(([type, count, length, tail, truncated]) => {
      const head = type === 'B' ? [cstr(''), cstr('')] : [uint32(1598)];
      const countBytes = Buffer.alloc(2);
      countBytes.writeUInt16BE(count & 0xffff);
      return { bytes: message(type, ...head, int16(0), countBytes, int32(length), Buffer.from(tail)), truncated };
    });
    fc.assert(
      fc.property(lying, ({ bytes, truncated }) => {
        const body = bytes.subarray(5);
        const largest = largestAllocation(() => {
          outcome(() => decodeAuditedFrame({ type: bytes[0]!, body, bodyLength: body.length + (truncated ? 100 : 0), truncated }), isProtocolError);
        });
        expect(largest).toBeLessThanOrEqual(body.length);
      }),
      { numRuns: 600 },
    );
  });

  it('lets nothing but a ProtocolError escape from mutated messages, cut or whole', () => {
    fc.assert(
      fc.property(auditedMessage, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.nat(), fc.boolean(), ({ bytes }, changes, cut, truncated) => {
        const body = mutate(bytes.subarray(5), changes);
        const kept = truncated ? body.subarray(0, cut % (body.length + 1)) : body;
        outcome(() => decodeAuditedFrame({ type: bytes[0]!, body: kept, bodyLength: body.length, truncated }), isProtocolError);
      }),
      { numRuns: 2000 },
    );
  });
});
