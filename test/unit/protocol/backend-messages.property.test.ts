// Properties of the server→client side of the protocol module: every message Gatehouse builds
// (errorResponse, noticeResponse, parameterStatus, backendKeyData, readyForQuery,
// negotiateProtocolVersion, authenticationOk) frames itself correctly for any text and reads back
// through BackendReader and node-postgres however it is cut; BackendReader and the error-field
// parser refuse hostile lengths and bytes with ProtocolError only, before allocating from them.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage as PgMessage } from 'pg-protocol/dist/messages.js';
import { ProtocolError } from '../../../src/errors.js';
import {
  authenticationOk,
  backendKeyData,
  errorResponse,
  negotiateProtocolVersion,
  noticeResponse,
  parameterStatus,
  readyForQuery,
  type Severity,
} from '../../../src/protocol/backend-messages.js';
import { BackendReader, MAX_LOGIN_MESSAGE_BYTES, type BackendMessage } from '../../../src/protocol/backend-reader.js';
import { parseErrorFields, parseErrorNotice } from '../../../src/protocol/error-fields.js';
import { asBuffer, cutPoints, everySplit, hostileLength, largestAllocation, mutate, mutation, outcome, splitAt, withInt32 } from '../../support/wire-properties.js';

const isProtocolError = (error: unknown) => error instanceof ProtocolError;
const anyText = fc.string({ unit: 'binary', maxLength: 40 });
/** What a string becomes on the wire: NUL replaced, lone surrogates replaced by UTF-8 encoding. */
const wire = (text: string) => Buffer.from(text.replaceAll('\0', '\uFFFD')).toString();
const severity = fc.constantFrom<Severity>('ERROR', 'FATAL', 'PANIC', 'WARNING', 'NOTICE');

/** Each message Gatehouse builds, with what a reader must find in its fields. */
const builtMessage = fc.oneof(
  fc.tuple(severity, fc.string({ unit: 'binary', maxLength: 6 }), anyText, fc.option(anyText, { nil: undefined }), fc.option(anyText, { nil: undefined }), fc.boolean()).map(([sev, sqlState, message, detail, hint, notice]) =>
    (notice ? noticeResponse : errorResponse)({ severity: sev, sqlState, message, detail, hint }),
  ),
  fc.tuple(anyText, anyText).map(([name, value]) => parameterStatus(name, value)),
  fc.tuple(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.uint8Array({ minLength: 4, maxLength: 256 })).map(([pid, key]) => backendKeyData(pid, Buffer.from(key))),
  fc.constantFrom<'I' | 'T' | 'E'>('I', 'T', 'E').map(readyForQuery),
  fc.tuple(fc.nat({ max: 0xffff }), fc.array(anyText, { maxLength: 4 })).map(([minor, options]) => negotiateProtocolVersion(minor, options)),
  fc.constant(authenticationOk()),
);

function readAll(chunks: readonly Buffer[]): BackendMessage[] {
  const reader = new BackendReader();
  const messages: BackendMessage[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let message = reader.next(); message !== null; message = reader.next()) messages.push(message);
  }
  expect(reader.rest().length).toBe(0);
  return messages;
}

function parseWithPg(chunks: readonly Buffer[]): PgMessage[] {
  const parser = new Parser();
  const messages: PgMessage[] = [];
  for (const chunk of chunks) parser.parse(Buffer.from(chunk), (message) => messages.push(message));
  return messages;
}

describe('messages Gatehouse builds', () => {
  it('frame themselves (the length counts itself) and read back however they are cut', () => {
    fc.assert(
      fc.property(fc.array(builtMessage, { minLength: 1, maxLength: 5 }), cutPoints(2000), (messages, points) => {
        for (const bytes of messages) expect(bytes.readInt32BE(1)).toBe(bytes.length - 1);
        const stream = Buffer.concat(messages);
        const read = readAll(splitAt(stream, points));
        expect(read.map((message) => message.raw)).toEqual(messages);
        // node-postgres, which psql-like clients resemble, sees the same number of messages.
        expect(parseWithPg(splitAt(stream, points))).toHaveLength(messages.length);
      }),
      { numRuns: 300 },
    );
  });

  it('carry any text in an ErrorResponse through parseErrorNotice, with a SQLSTATE that is always valid', () => {
    fc.assert(
      fc.property(severity, fc.string({ unit: 'binary', maxLength: 6 }), anyText, fc.option(anyText, { nil: undefined }), (sev, sqlState, message, hint) => {
        const bytes = errorResponse({ severity: sev, sqlState, message, hint });
        const notice = parseErrorNotice(bytes.subarray(5));
        expect(notice.sqlState).toMatch(/^[0-9A-Z]{5}$/);
        expect(notice.sqlState).toBe(/^[0-9A-Z]{5}$/.test(sqlState) ? sqlState : 'XX000');
        expect(notice.message).toBe(wire(message));
        expect(notice.hint).toBe(hint === undefined ? undefined : wire(hint));
        expect([...notice.fields.keys()].join('')).toBe(hint === undefined ? 'SVCM' : 'SVCMH');
      }),
      { numRuns: 500 },
    );
  });

  it('refuse impossible BackendKeyData and NegotiateProtocolVersion with RangeError only', () => {
    fc.assert(
      fc.property(fc.double(), fc.nat({ max: 300 }), fc.integer(), (pid, keyLength, minor) => {
        const built = outcome(() => backendKeyData(pid, Buffer.alloc(keyLength)), (error) => error instanceof RangeError);
        expect('value' in built).toBe(Number.isInteger(pid) && pid >= -0x80000000 && pid <= 0x7fffffff && keyLength >= 4 && keyLength <= 256);
        const negotiated = outcome(() => negotiateProtocolVersion(minor, []), (error) => error instanceof RangeError);
        expect('value' in negotiated).toBe(minor >= 0 && minor <= 0xffff);
      }),
      { numRuns: 500 },
    );
  });
});

describe('BackendReader on hostile input', () => {
  it('refuses a lying length as soon as the header is there, without buffering toward it', () => {
    fc.assert(
      fc.property(builtMessage, hostileLength(40, [MAX_LOGIN_MESSAGE_BYTES]), fc.uint8Array({ maxLength: 40 }), (bytes, length, extra) => {
        const lying = Buffer.concat([withInt32(bytes, 1, length), Buffer.from(extra)]);
        const reader = new BackendReader();
        const largest = largestAllocation(() => {
          for (const pieces of everySplit(lying).slice(0, 6)) {
            const fresh = new BackendReader();
            outcome(() => {
              for (const piece of pieces) {
                fresh.push(piece);
                while (fresh.next() !== null);
              }
            }, isProtocolError);
          }
          reader.push(lying.subarray(0, 5));
        });
        expect(largest).toBeLessThanOrEqual(lying.length);
        const first = outcome(() => reader.next(), isProtocolError);
        if (length < 4 || length > MAX_LOGIN_MESSAGE_BYTES) expect('error' in first).toBe(true);
        else expect(first).toEqual({ value: length === 4 ? expect.objectContaining({ body: Buffer.alloc(0) }) : null });
      }),
      { numRuns: 300 },
    );
  });

  it('reads mutated streams the same however they are cut, refusing with ProtocolError only', () => {
    fc.assert(
      fc.property(fc.array(builtMessage, { minLength: 1, maxLength: 4 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), cutPoints(1500), (messages, changes, points) => {
        const stream = mutate(Buffer.concat(messages), changes);
        const read = (chunks: readonly Buffer[]) => {
          const reader = new BackendReader();
          const raws: Buffer[] = [];
          const result = outcome(() => {
            for (const chunk of chunks) {
              reader.push(chunk);
              for (let message = reader.next(); message !== null; message = reader.next()) raws.push(message.raw);
            }
          }, isProtocolError);
          return { raws, failed: 'error' in result, rest: 'error' in result ? undefined : reader.rest() };
        };
        expect(read(splitAt(stream, points))).toEqual(read([stream]));
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseErrorFields on hostile input', () => {
  it('lets nothing but a ProtocolError escape, and reads every well-formed field list back', () => {
    const fieldList = fc.array(fc.tuple(fc.integer({ min: 1, max: 255 }), fc.string({ unit: 'grapheme', maxLength: 20 }).map((text) => text.replaceAll('\0', ''))), { maxLength: 8 });
    fc.assert(
      fc.property(fieldList, fc.array(mutation, { maxLength: 3 }), (fields, changes) => {
        const body = Buffer.concat([...fields.map(([code, value]) => Buffer.concat([Buffer.from([code]), Buffer.from(`${value}\0`)])), Buffer.from([0])]);
        if (changes.length === 0) {
          const expected = new Map<string, string>();
          for (const [code, value] of fields) expected.set(String.fromCharCode(code), value);
          expect(parseErrorFields(body)).toEqual(expected);
        }
        const mutated = mutate(body, changes);
        outcome(() => parseErrorFields(mutated), isProtocolError);
        outcome(() => parseErrorNotice(mutated), isProtocolError);
      }),
      { numRuns: 1000 },
    );
  });

  it('answers random bytes with fields or a ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        outcome(() => parseErrorNotice(asBuffer(bytes)), isProtocolError);
      }),
      { numRuns: 1000 },
    );
  });
});
