import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import {
  SSL_ACCEPT,
  SSL_REFUSE,
  authenticationOk,
  backendKeyData,
  errorResponse,
  negotiateProtocolVersion,
  noticeResponse,
  parameterStatus,
  readyForQuery,
  type ErrorResponseFields,
} from '../../../src/protocol/backend-messages.js';
import { parseErrorFields, parseErrorNotice } from '../../../src/protocol/error-fields.js';

/** What node-postgres makes of these bytes, fed in the given chunks. */
function parseWithPg(chunks: Buffer[]): BackendMessage[] {
  const parser = new Parser();
  const messages: BackendMessage[] = [];
  // Copies: pg-protocol's Parser may compact leftover bytes into the chunk it was given, which
  // would corrupt the shared test buffer the next split is cut from.
  for (const chunk of chunks) parser.parse(Buffer.from(chunk), (message) => messages.push(message));
  return messages;
}

const hex = (bytes: Buffer) => bytes.toString('hex');

describe('fixed messages, against known bytes', () => {
  it('builds AuthenticationOk', () => {
    expect(hex(authenticationOk())).toBe('520000000800000000');
  });

  it('builds ReadyForQuery for each transaction status', () => {
    expect(hex(readyForQuery('I'))).toBe('5a0000000549');
    expect(hex(readyForQuery('T'))).toBe('5a0000000554');
    expect(hex(readyForQuery('E'))).toBe('5a0000000545');
  });

  it('builds ParameterStatus', () => {
    expect(parameterStatus('client_encoding', 'UTF8')).toEqual(Buffer.from('S\0\0\0\x19client_encoding\0UTF8\0', 'latin1'));
  });

  it('builds BackendKeyData with a 4-byte key and a protocol 3.2 key', () => {
    expect(hex(backendKeyData(1234, Buffer.from([0xde, 0xad, 0xbe, 0xef])))).toBe('4b0000000c000004d2deadbeef');
    const long = backendKeyData(7, Buffer.alloc(32, 1));
    expect(long.readInt32BE(1)).toBe(40);
    expect(long.subarray(9)).toEqual(Buffer.alloc(32, 1));
  });

  it('refuses a BackendKeyData that no client could use', () => {
    expect(() => backendKeyData(1, Buffer.alloc(3))).toThrow(RangeError);
    expect(() => backendKeyData(1, Buffer.alloc(257))).toThrow(RangeError);
    expect(() => backendKeyData(0x80000000, Buffer.alloc(4))).toThrow(RangeError);
    expect(() => backendKeyData(1.5, Buffer.alloc(4))).toThrow(RangeError);
  });

  it('builds NegotiateProtocolVersion', () => {
    expect(negotiateProtocolVersion(0, ['_pq_.a', '_pq_.b'])).toEqual(
      Buffer.from('v\0\0\0\x1a\0\0\0\0\0\0\0\x02_pq_.a\0_pq_.b\0', 'latin1'),
    );
    expect(hex(negotiateProtocolVersion(2, []))).toBe('760000000c0000000200000000');
    expect(() => negotiateProtocolVersion(-1, [])).toThrow(RangeError);
  });

  it('answers SSLRequest and GSSENCRequest with one byte', () => {
    expect(SSL_ACCEPT).toEqual(Buffer.from([0x53]));
    expect(SSL_REFUSE).toEqual(Buffer.from([0x4e]));
  });

  it('returns a fresh buffer each time', () => {
    const first = readyForQuery('I');
    first.fill(0);
    expect(hex(readyForQuery('I'))).toBe('5a0000000549');
    expect(authenticationOk()).not.toBe(authenticationOk());
  });
});

describe('what node-postgres reads', () => {
  it('reads a login greeting, split at every byte', () => {
    const greeting = Buffer.concat([
      authenticationOk(),
      parameterStatus('server_version', '17.0'),
      parameterStatus('application_name', 'zoë'),
      backendKeyData(4242, Buffer.from([0, 0, 0x10, 0x01])),
      readyForQuery('I'),
    ]);
    const expected = [
      { name: 'authenticationOk', length: 8 },
      { name: 'parameterStatus', parameterName: 'server_version', parameterValue: '17.0' },
      { name: 'parameterStatus', parameterName: 'application_name', parameterValue: 'zoë' },
      { name: 'backendKeyData', processID: 4242, secretKey: 0x1001 },
      { name: 'readyForQuery', status: 'I' },
    ];
    for (let cut = 0; cut <= greeting.length; cut++) {
      const messages = parseWithPg([greeting.subarray(0, cut), greeting.subarray(cut)]);
      expect(messages).toHaveLength(5);
      messages.forEach((message, index) => expect(message).toMatchObject(expected[index]!));
    }
  });

  it('reads an ErrorResponse with every field, split at every byte', () => {
    const bytes = errorResponse({
      severity: 'FATAL',
      sqlState: '28000',
      message: 'access denied to database "sales" for Zoë',
      detail: 'no role grants it',
      hint: 'ask for the sales-reader role',
    });
    for (let cut = 0; cut <= bytes.length; cut++) {
      const [error, ...rest] = parseWithPg([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(rest).toEqual([]);
      expect(error).toMatchObject({
        name: 'error',
        severity: 'FATAL',
        code: '28000',
        message: 'access denied to database "sales" for Zoë',
        detail: 'no role grants it',
        hint: 'ask for the sales-reader role',
      });
    }
  });

  it('reads a NoticeResponse', () => {
    const [notice] = parseWithPg([noticeResponse({ severity: 'WARNING', sqlState: '01000', message: 'session ends in 5 minutes' })]);
    expect(notice).toMatchObject({ name: 'notice', severity: 'WARNING', code: '01000', message: 'session ends in 5 minutes' });
  });
});

describe('errorResponse fields', () => {
  it('round-trips through parseErrorFields with S, V, C, M, D and H', () => {
    const bytes = errorResponse({ severity: 'ERROR', sqlState: '08P01', message: 'm', detail: 'd', hint: 'h' });
    expect(bytes[0]).toBe(0x45);
    expect(bytes.readInt32BE(1)).toBe(bytes.length - 1);
    expect([...parseErrorFields(bytes.subarray(5))]).toEqual([
      ['S', 'ERROR'],
      ['V', 'ERROR'],
      ['C', '08P01'],
      ['M', 'm'],
      ['D', 'd'],
      ['H', 'h'],
    ]);
  });

  it('leaves out detail and hint when not given', () => {
    const fields = parseErrorFields(errorResponse({ severity: 'FATAL', sqlState: '57P01', message: 'shutting down' }).subarray(5));
    expect([...fields.keys()]).toEqual(['S', 'V', 'C', 'M']);
  });

  it('sends XX000 for a SQLSTATE that is not five characters of [0-9A-Z]', () => {
    for (const sqlState of ['', '2800', '280000', '28p01', '28\x000']) {
      expect(parseErrorFields(errorResponse({ severity: 'ERROR', sqlState, message: 'x' }).subarray(5)).get('C')).toBe('XX000');
    }
  });

  it('keeps a NUL in a hostile value from breaking the framing', () => {
    const hostile = 'bob\0Mfake\0\0Z\0\0\0\x05I';
    const bytes = errorResponse({ severity: 'FATAL', sqlState: '28000', message: `no such user ${hostile}`, detail: hostile, hint: hostile });
    expect(bytes.readInt32BE(1)).toBe(bytes.length - 1);
    const fields = parseErrorFields(bytes.subarray(5));
    expect(fields.get('M')).toBe(`no such user ${hostile.replaceAll('\0', '\uFFFD')}`);
    expect([...fields.keys()]).toEqual(['S', 'V', 'C', 'M', 'D', 'H']);
    const messages = parseWithPg([bytes]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ name: 'error', detail: hostile.replaceAll('\0', '\uFFFD') });
    const status = parameterStatus('a\0b', 'c\0d');
    expect(parseWithPg([status])).toMatchObject([{ name: 'parameterStatus', parameterName: 'a\uFFFDb', parameterValue: 'c\uFFFDd' }]);
    const negotiate = negotiateProtocolVersion(0, ['_pq_.x\0y']);
    expect(negotiate.readInt32BE(1)).toBe(negotiate.length - 1);
    expect(negotiate.subarray(13).toString()).toBe('_pq_.x\uFFFDy\0');
  });

  it('round-trips any text through parseErrorNotice and node-postgres', () => {
    const severity = fc.constantFrom<ErrorResponseFields['severity']>('ERROR', 'FATAL', 'PANIC', 'WARNING', 'NOTICE');
    fc.assert(
      fc.property(severity, fc.string(), fc.option(fc.string(), { nil: undefined }), fc.option(fc.string(), { nil: undefined }), (sev, message, detail, hint) => {
        const bytes = errorResponse({ severity: sev, sqlState: '42P01', message, detail, hint });
        // What survives the wire: NUL replaced, lone surrogates replaced by UTF-8 encoding.
        const wire = (text: string | undefined) => (text === undefined ? undefined : Buffer.from(text.replaceAll('\0', '\uFFFD')).toString());
        expect(parseErrorNotice(bytes.subarray(5))).toMatchObject({
          severity: sev,
          severityNonLocalized: sev,
          sqlState: '42P01',
          message: wire(message),
          detail: wire(detail),
          hint: wire(hint),
        });
        const [parsed] = parseWithPg([bytes]);
        expect(parsed).toMatchObject({ severity: sev, code: '42P01', message: wire(message), detail: wire(detail), hint: wire(hint) });
      }),
      { numRuns: 500 },
    );
  });
});
