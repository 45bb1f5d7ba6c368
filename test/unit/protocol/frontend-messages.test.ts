import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { ProtocolError } from '../../../src/errors.js';
import { AUDITED_MESSAGE_TYPES, FrontendFramer, type AuditedFrame } from '../../../src/protocol/frontend-framer.js';
import { decodeAuditedFrame, TRUNCATION_MARKER, type AuditedMessage } from '../../../src/protocol/frontend-messages.js';

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

function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
}

/** Bind or FunctionCall values: formats, count, then each (length, bytes) or -1 for NULL. */
function values(formats: number[], items: (Buffer | null)[]): Buffer {
  return Buffer.concat([
    int16(formats.length),
    ...formats.map(int16),
    int16(items.length),
    ...items.flatMap((item) => (item === null ? [int32(-1)] : [int32(item.length), item])),
  ]);
}

function bind(portal: string, statement: string, formats: number[], items: (Buffer | null)[], resultFormats: number[] = [0]): Buffer {
  return message('B', cstr(portal), cstr(statement), values(formats, items), int16(resultFormats.length), ...resultFormats.map(int16));
}

function functionCall(oid: number, formats: number[], items: (Buffer | null)[], resultFormat = 0): Buffer {
  const oidBytes = Buffer.alloc(4);
  oidBytes.writeUInt32BE(oid);
  return message('F', oidBytes, values(formats, items), int16(resultFormat));
}

/** The frames a FrontendFramer reports for these messages. */
function framesOf(bytes: Buffer, maxAuditBytes?: number): AuditedFrame[] {
  const frames: AuditedFrame[] = [];
  new FrontendFramer({ maxAuditBytes }).push(bytes, (frame) => frames.push(frame));
  return frames;
}

function decode(bytes: Buffer, maxAuditBytes?: number): AuditedMessage {
  const frames = framesOf(bytes, maxAuditBytes);
  expect(frames).toHaveLength(1);
  return decodeAuditedFrame(frames[0]!);
}

/** The frame of a whole message, without a framer: for bodies the framer would never produce. */
function frameOf(bytes: Buffer, truncated = false): AuditedFrame {
  return { type: bytes[0]!, body: bytes.subarray(5), bodyLength: bytes.length - 5, truncated };
}

const realMessages: Record<string, Buffer> = {
  query: serialize.query('SELECT * FROM t WHERE name = \'Zoë\''),
  parse: serialize.parse({ name: 'stmt', text: 'SELECT $1::int, $2::bytea', types: [23, 17] }),
  bind: serialize.bind({ portal: 'p', statement: 'stmt', values: ['42', null, Buffer.from([0xca, 0xfe]), 'ünï'] }),
  execute: serialize.execute({ portal: 'p', rows: 100 }),
  close: serialize.close({ type: 'P', name: 'p' }),
  functionCall: functionCall(1598, [1], [Buffer.from([0, 0, 0, 7]), null]),
  terminate: serialize.end(),
};

describe('decodeAuditedFrame on real messages', () => {
  it('decodes a Query', () => {
    expect(decode(realMessages.query!)).toEqual({ type: 'query', sql: "SELECT * FROM t WHERE name = 'Zoë'" });
    expect(decode(serialize.query(''))).toEqual({ type: 'query', sql: '' });
  });

  it('decodes a Parse with its parameter type OIDs', () => {
    expect(decode(realMessages.parse!)).toEqual({ type: 'parse', statement: 'stmt', sql: 'SELECT $1::int, $2::bytea', parameterTypeOids: [23, 17] });
    expect(decode(serialize.parse({ text: 'SELECT 1' }))).toEqual({ type: 'parse', statement: '', sql: 'SELECT 1', parameterTypeOids: [] });
    // OIDs are unsigned: the largest one must not read as -1.
    expect(decode(message('P', cstr(''), cstr('x'), int16(1), Buffer.from([0xff, 0xff, 0xff, 0xff])))).toMatchObject({ parameterTypeOids: [0xffffffff] });
  });

  it('decodes a Bind with one format code per value: text, NULL and binary', () => {
    expect(decode(realMessages.bind!)).toEqual({ type: 'bind', portal: 'p', statement: 'stmt', parameters: ['42', null, '\\xcafe', 'ünï'] });
  });

  it('decodes a Bind with no format codes as all text', () => {
    expect(decode(bind('', 's', [], [Buffer.from('1'), Buffer.from('two')]))).toMatchObject({ parameters: ['1', 'two'] });
  });

  it('decodes a Bind with one format code as applying to every value', () => {
    expect(decode(bind('', 's', [1], [Buffer.from('1'), Buffer.from([0xff])]))).toMatchObject({ parameters: ['\\x31', '\\xff'] });
    expect(decode(bind('', 's', [0], [Buffer.from('1'), Buffer.from('2')]))).toMatchObject({ parameters: ['1', '2'] });
  });

  it('decodes a Bind without parameters and with several result formats', () => {
    expect(decode(bind('portal', '', [], [], [0, 1, 1]))).toEqual({ type: 'bind', portal: 'portal', statement: '', parameters: [] });
  });

  it('caps each parameter at 1 KiB without splitting a character', () => {
    const [long] = (decode(bind('', '', [], [Buffer.from('€'.repeat(2000))])) as Extract<AuditedMessage, { type: 'bind' }>).parameters;
    expect(long).toBe('€'.repeat(341) + TRUNCATION_MARKER); // 341 × 3 bytes = 1023 ≤ 1024
    const [exact] = (decode(bind('', '', [], [Buffer.from('a'.repeat(1024))])) as Extract<AuditedMessage, { type: 'bind' }>).parameters;
    expect(exact).toBe('a'.repeat(1024));
    const [binary] = (decode(bind('', '', [1], [Buffer.alloc(2000, 0xab)])) as Extract<AuditedMessage, { type: 'bind' }>).parameters;
    expect(binary).toBe('\\x' + 'ab'.repeat(512) + TRUNCATION_MARKER);
    const frame = framesOf(bind('', '', [], [Buffer.from('abcdef')]))[0]!;
    expect(decodeAuditedFrame(frame, { maxParameterBytes: 3 })).toMatchObject({ parameters: ['abc' + TRUNCATION_MARKER] });
  });

  it('decodes an Execute', () => {
    expect(decode(realMessages.execute!)).toEqual({ type: 'execute', portal: 'p', maxRows: 100 });
    expect(decode(serialize.execute())).toEqual({ type: 'execute', portal: '', maxRows: 0 });
  });

  it('decodes a Close of a statement and of a portal', () => {
    expect(decode(serialize.close({ type: 'S', name: 'stmt' }))).toEqual({ type: 'close', target: 'statement', name: 'stmt' });
    expect(decode(realMessages.close!)).toEqual({ type: 'close', target: 'portal', name: 'p' });
  });

  it('decodes a FunctionCall', () => {
    expect(decode(realMessages.functionCall!)).toEqual({ type: 'function-call', functionOid: 1598, arguments: ['\\x00000007', null] });
    expect(decode(functionCall(0xfffffff0, [], [Buffer.from('x')], 1))).toEqual({ type: 'function-call', functionOid: 0xfffffff0, arguments: ['x'] });
  });

  it('decodes a Terminate', () => {
    expect(decode(realMessages.terminate!)).toEqual({ type: 'terminate' });
  });
});

describe('decodeAuditedFrame on truncated frames', () => {
  it('shows the head of a long Query followed by the marker', () => {
    const sql = 'SELECT ' + "'é€😀'".repeat(500);
    for (let max = 0; max < 60; max++) {
      const result = decode(serialize.query(sql), max) as Extract<AuditedMessage, { type: 'query' }>;
      const shown = result.sql.slice(0, -1);
      expect(result.sql.endsWith(TRUNCATION_MARKER)).toBe(true);
      expect(sql.startsWith(shown)).toBe(true);
      expect(Buffer.byteLength(shown)).toBeGreaterThan(max - 4);
      expect(shown).not.toContain('\uFFFD');
    }
  });

  it('shows the whole parameters of a cut Bind, then the marker', () => {
    const bytes = bind('portal', 'stmt', [0, 1, 0], [Buffer.from('first'), Buffer.from([1, 2, 3]), Buffer.from('third value')]);
    const headLength = 'portal\0stmt\0'.length + 2 + 6 + 2;
    const cases: [number, (string | null)[]][] = [
      [3, [TRUNCATION_MARKER]],
      [headLength, [TRUNCATION_MARKER]],
      [headLength + 4, [TRUNCATION_MARKER]],
      [headLength + 4 + 2, ['fi' + TRUNCATION_MARKER]],
      [headLength + 4 + 5, ['first', TRUNCATION_MARKER]],
      [headLength + 4 + 5 + 4 + 1, ['first', '\\x01' + TRUNCATION_MARKER]],
      [headLength + 4 + 5 + 4 + 3 + 4 + 11, ['first', '\\x010203', 'third value']],
    ];
    for (const [max, parameters] of cases) {
      expect(decode(bytes, max), `maxAuditBytes ${max}`).toMatchObject({ parameters });
    }
  });

  it('never throws on any prefix of a well-formed message, and decodes the whole message once nothing is cut', () => {
    for (const [name, bytes] of Object.entries(realMessages)) {
      const whole = decode(bytes);
      for (let max = 0; max <= bytes.length - 5; max++) {
        const frames = framesOf(bytes, max);
        const result = decodeAuditedFrame(frames[0]!);
        expect(result.type, `${name} cut at ${max}`).toBe(whole.type);
        if (!frames[0]!.truncated) expect(result).toEqual(whole);
      }
    }
  });

  it('still refuses what no prefix of a real message contains', () => {
    const badFormat = bind('', '', [2], [Buffer.from('x')]);
    expect(() => decode(badFormat, 12)).toThrow(ProtocolError);
    const badClose = message('C', Buffer.from('Zname\0'));
    expect(() => decodeAuditedFrame({ ...frameOf(badClose), truncated: true })).toThrow(ProtocolError);
  });
});

describe('decodeAuditedFrame on malformed messages', () => {
  const malformed: Record<string, Buffer> = {
    'Query without NUL': message('Q', Buffer.from('SELECT 1')),
    'Query with bytes after its NUL': message('Q', cstr('SELECT 1'), Buffer.from('x')),
    'Parse with a missing OID': message('P', cstr(''), cstr('SELECT $1'), int16(2), int32(23)),
    'Parse with trailing bytes': message('P', cstr(''), cstr('SELECT 1'), int16(0), Buffer.from([0])),
    'Bind with 2 format codes for 3 values': bind('', '', [0, 1], [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]),
    'Bind with 3 format codes for 2 values': bind('', '', [0, 1, 0], [Buffer.from('a'), Buffer.from('b')]),
    'Bind with format code 2': bind('', '', [2], [Buffer.from('a')]),
    'Bind with format code -1': bind('', '', [-1], [Buffer.from('a')]),
    'Bind with result format 7': bind('', '', [], [], [7]),
    'Bind with a value length of -2': message('B', cstr(''), cstr(''), int16(0), int16(1), int32(-2), int16(0)),
    'Bind with a value longer than the body': message('B', cstr(''), cstr(''), int16(0), int16(1), int32(100), Buffer.from('short'), int16(0)),
    'Bind without result formats': message('B', cstr(''), cstr(''), int16(0), int16(0)),
    'Execute without row limit': message('E', cstr('')),
    'Close of something else': message('C', Buffer.from('Xname\0')),
    'Close with an empty body': message('C'),
    'FunctionCall without result format': message('F', int32(1), int16(0), int16(0)),
    'FunctionCall with result format 3': functionCall(1, [], [], 3),
    'Terminate with a body': message('X', Buffer.from('x')),
  };

  for (const [name, bytes] of Object.entries(malformed)) {
    it(`refuses a ${name}`, () => {
      expect(() => decodeAuditedFrame(frameOf(bytes))).toThrow(ProtocolError);
    });
  }

  it('refuses every strict prefix of a real message that is not marked truncated', () => {
    for (const [name, bytes] of Object.entries(realMessages)) {
      for (let cut = 5; cut < bytes.length; cut++) {
        const prefix = bytes.subarray(0, cut);
        expect(() => decodeAuditedFrame(frameOf(prefix)), `${name} cut at ${cut}`).toThrow(ProtocolError);
      }
    }
  });

  it('names the message type and the problem', () => {
    expect(() => decodeAuditedFrame(frameOf(malformed['Bind with 2 format codes for 3 values']!))).toThrow(/'B'.*2 parameter format codes for 3 parameters/);
  });

  it('says which value has a bad length', () => {
    expect(() => decodeAuditedFrame(frameOf(malformed['Bind with a value length of -2']!))).toThrow(/parameter 1 has length -2/);
  });

  it('refuses a frame of a type that is not audited', () => {
    expect(() => decodeAuditedFrame(frameOf(serialize.sync()))).toThrow(ProtocolError);
  });

  it('lets nothing but a ProtocolError escape for random bodies', () => {
    fc.assert(
      fc.property(fc.constantFrom(...AUDITED_MESSAGE_TYPES), fc.uint8Array({ maxLength: 80 }), fc.boolean(), (type, body, truncated) => {
        const frame: AuditedFrame = { type, body: Buffer.from(body), bodyLength: body.length + (truncated ? 10 : 0), truncated };
        try {
          decodeAuditedFrame(frame);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('lets nothing but a ProtocolError escape for mutated real messages', () => {
    const bodies = Object.values(realMessages);
    fc.assert(
      fc.property(fc.constantFrom(...bodies), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), fc.boolean(), (bytes, at, value, cut, truncated) => {
        const body = Buffer.from(bytes.subarray(5));
        if (body.length > 0) body[at % body.length] = value;
        const kept = truncated ? body.subarray(0, cut % (body.length + 1)) : body;
        try {
          decodeAuditedFrame({ type: bytes[0]!, body: kept, bodyLength: body.length, truncated });
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
