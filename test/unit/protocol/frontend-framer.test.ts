import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { ErrorCodes, ProtocolError } from '../../../src/errors.js';
import { MAX_MESSAGE_BYTES } from '../../../src/protocol/constants.js';
import { AUDITED_MESSAGE_TYPES, FrontendFramer, type AuditedFrame } from '../../../src/protocol/frontend-framer.js';

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = type.charCodeAt(0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function header(type: string, length: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes[0] = type.charCodeAt(0);
  bytes.writeInt32BE(length, 1);
  return bytes;
}

/** FunctionCall: pg-protocol has no serializer for it. */
function functionCall(oid: number, args: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(8);
  head.writeUInt32BE(oid, 0);
  head.writeInt16BE(0, 4); // no format codes: all text
  head.writeInt16BE(args.length, 6);
  parts.push(head);
  for (const arg of args) {
    const length = Buffer.alloc(4);
    length.writeInt32BE(arg.length);
    parts.push(length, arg);
  }
  parts.push(Buffer.from([0, 0]));
  return message('F', Buffer.concat(parts));
}

/** A session's worth of real client messages, as pg sends them. */
function conversation(copyBytes: number): Buffer[] {
  return [
    serialize.query('SELECT 1'),
    serialize.query(''),
    serialize.parse({ name: 's1', text: 'SELECT $1::int, $2::text, $3::bytea', types: [23, 25, 17] }),
    serialize.bind({ portal: 'p1', statement: 's1', values: ['42', null, Buffer.from([0xde, 0xad, 0xbe, 0xef])] }),
    serialize.describe({ type: 'P', name: 'p1' }),
    serialize.execute({ portal: 'p1', rows: 10 }),
    serialize.sync(),
    serialize.query('COPY t FROM STDIN'),
    serialize.copyData(Buffer.alloc(copyBytes, 0x61)),
    serialize.copyDone(),
    serialize.copyFail('stop'),
    serialize.close({ type: 'S', name: 's1' }),
    serialize.close({ type: 'P', name: 'p1' }),
    serialize.flush(),
    functionCall(1598, [Buffer.from('x'), Buffer.from('ünïcode')]),
    serialize.query('SELECT ' + "'€'".repeat(40)),
    serialize.end(),
  ];
}

/** What the framer must report, computed the slow, obvious way from whole messages. */
function expectedFrames(messages: Buffer[], maxAuditBytes: number): AuditedFrame[] {
  return messages
    .filter((bytes) => AUDITED_MESSAGE_TYPES.has(bytes[0]!))
    .map((bytes) => {
      const bodyLength = bytes.readInt32BE(1) - 4;
      const keep = Math.min(bodyLength, maxAuditBytes);
      return { type: bytes[0]!, body: Buffer.from(bytes.subarray(5, 5 + keep)), bodyLength, truncated: bodyLength > keep };
    });
}

function run(chunks: Buffer[], options?: ConstructorParameters<typeof FrontendFramer>[0]): { frames: AuditedFrame[]; framer: FrontendFramer } {
  const framer = new FrontendFramer(options);
  const frames: AuditedFrame[] = [];
  for (const chunk of chunks) framer.push(chunk, (frame) => frames.push(frame));
  return { frames, framer };
}

function splitAt(buf: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points)].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    chunks.push(buf.subarray(start, cut));
    start = cut;
  }
  chunks.push(buf.subarray(start));
  return chunks;
}

function byteByByte(buf: Buffer): Buffer[] {
  return Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
}

function caught(action: () => void): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('FrontendFramer on real client messages', () => {
  const messages = conversation(300);
  const stream = Buffer.concat(messages);

  for (const maxAuditBytes of [64 * 1024, 7, 1, 0]) {
    it(`reports the same frames for every split point (maxAuditBytes ${maxAuditBytes})`, () => {
      const expected = expectedFrames(messages, maxAuditBytes);
      expect(expected.length).toBe(11);
      expect(run([stream], { maxAuditBytes }).frames).toEqual(expected);
      for (let cut = 0; cut <= stream.length; cut++) {
        const { frames, framer } = run(splitAt(stream, [cut]), { maxAuditBytes });
        expect(frames, `split at ${cut}`).toEqual(expected);
        expect(framer.atMessageBoundary).toBe(true);
      }
      expect(run(byteByByte(stream), { maxAuditBytes }).frames).toEqual(expected);
    });
  }

  it('reports the same frames for any partition of the stream (with a large CopyData)', () => {
    const big = conversation(200_000);
    const bigStream = Buffer.concat(big);
    const expected = expectedFrames(big, 16);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: bigStream.length }), { maxLength: 40 }), (points) => {
        expect(run(splitAt(bigStream, points), { maxAuditBytes: 16 }).frames).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('is on a message boundary exactly where a message ends', () => {
    const ends = new Set<number>([0]);
    let offset = 0;
    for (const bytes of messages) ends.add((offset += bytes.length));
    const framer = new FrontendFramer();
    expect(framer.atMessageBoundary).toBe(true);
    for (let i = 0; i < stream.length; i++) {
      framer.push(stream.subarray(i, i + 1), () => {});
      expect(framer.atMessageBoundary, `after byte ${i}`).toBe(ends.has(i + 1));
    }
  });

  it('emits an audited frame as soon as its head is known', () => {
    const query = serialize.query('SELECT ' + 'x'.repeat(100));
    const framer = new FrontendFramer({ maxAuditBytes: 10 });
    const frames: AuditedFrame[] = [];
    framer.push(query.subarray(0, 15), (frame) => frames.push(frame));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toEqual({ type: 0x51, body: Buffer.from('SELECT xxx'), bodyLength: 108, truncated: true });
    expect(framer.atMessageBoundary).toBe(false);
    framer.push(query.subarray(15), (frame) => frames.push(frame));
    expect(frames).toHaveLength(1);
    expect(framer.atMessageBoundary).toBe(true);
  });

  it('reports a Terminate with its empty body', () => {
    expect(run([serialize.end()]).frames).toEqual([{ type: 0x58, body: Buffer.alloc(0), bodyLength: 0, truncated: false }]);
  });

  it('hands out copies, not views of the chunk', () => {
    const chunk = Buffer.concat([serialize.query('SELECT 1'), serialize.query('SELECT 2').subarray(0, 9)]);
    const framer = new FrontendFramer();
    const frames: AuditedFrame[] = [];
    framer.push(chunk, (frame) => frames.push(frame));
    const rest = Buffer.from(serialize.query('SELECT 2').subarray(9));
    framer.push(rest, (frame) => frames.push(frame));
    chunk.fill(0xff);
    rest.fill(0xff);
    expect(frames.map((frame) => frame.body.toString())).toEqual(['SELECT 1\0', 'SELECT 2\0']);
  });
});

describe('FrontendFramer length checks', () => {
  for (const length of [-1, -0x80000000, 0, 1, 3]) {
    it(`refuses a length of ${length} as a protocol violation, even split byte by byte`, () => {
      for (const chunks of [[header('Q', length)], byteByByte(header('Q', length))]) {
        const error = caught(() => run(chunks));
        expect(error).toBeInstanceOf(ProtocolError);
        expect((error as ProtocolError).code).toBe(ErrorCodes.PROTOCOL_VIOLATION);
        expect((error as ProtocolError).message).toContain(`length ${length}`);
      }
    });
  }

  for (const length of [MAX_MESSAGE_BYTES + 1, 0x40000000, 0x7fffffff]) {
    it(`refuses a length of ${length} right after the header`, () => {
      const framer = new FrontendFramer();
      const bytes = header('d', length);
      for (let i = 0; i < 4; i++) framer.push(bytes.subarray(i, i + 1), () => {});
      const error = caught(() => framer.push(bytes.subarray(4), () => {}));
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
      expect((error as ProtocolError).message).toContain(String(length));
      expect((error as ProtocolError).message).toContain(String(MAX_MESSAGE_BYTES));
    });
  }

  it('accepts the largest length PostgreSQL accepts and waits for its body', () => {
    const framer = new FrontendFramer();
    framer.push(header('d', MAX_MESSAGE_BYTES), () => {});
    expect(framer.atMessageBoundary).toBe(false);
  });

  it('refuses a bad length in the middle of a chunk of good messages', () => {
    const chunk = Buffer.concat([serialize.sync(), serialize.query('SELECT 1'), header('S', 2)]);
    const frames: AuditedFrame[] = [];
    const error = caught(() => new FrontendFramer().push(chunk, (frame) => frames.push(frame)));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(frames).toHaveLength(1);
  });

  it('applies a configured cap to the length field, which counts itself', () => {
    const framer = new FrontendFramer({ maxMessageBytes: 1000 });
    framer.push(message('d', Buffer.alloc(996)), () => {});
    expect(framer.atMessageBoundary).toBe(true);
    const error = caught(() => framer.push(header('d', 1001), () => {}));
    expect((error as ProtocolError).code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
    expect((error as ProtocolError).message).toContain('1001');
    expect((error as ProtocolError).message).toContain('1000');
  });

  it('rejects nonsensical options', () => {
    expect(() => new FrontendFramer({ maxAuditBytes: -1 })).toThrow(RangeError);
    expect(() => new FrontendFramer({ maxMessageBytes: 3 })).toThrow(RangeError);
    expect(() => new FrontendFramer({ maxMessageBytes: 0x80000000 })).toThrow(RangeError);
  });

  it('frames a message whose length is one short or one long differently from its neighbours', () => {
    const query = serialize.query('SELECT 1');
    const short = Buffer.from(query);
    short.writeInt32BE(query.readInt32BE(1) - 1, 1);
    const long = Buffer.from(query);
    long.writeInt32BE(query.readInt32BE(1) + 1, 1);
    const sync = serialize.sync();
    // One short: the body the auditor gets loses its NUL, which becomes the next type byte, and
    // the next "length" is read from Sync's bytes: far over the cap, so the framing error is caught.
    const frames: AuditedFrame[] = [];
    const error = caught(() => new FrontendFramer().push(Buffer.concat([short, sync]), (frame) => frames.push(frame)));
    expect((error as ProtocolError).code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
    expect(frames[0]!.body.toString()).toBe('SELECT 1');
    // One long: the next message's type byte is swallowed and the framer is left mid-message.
    const { frames: longFrames, framer } = run([Buffer.concat([long, sync])]);
    expect(longFrames[0]!.body.toString('latin1')).toBe('SELECT 1\0S');
    expect(framer.atMessageBoundary).toBe(false);
  });
});

describe('FrontendFramer allocation', () => {
  function spyOnAllocation(): { sizes: number[] } {
    const record = { sizes: [] as number[] };
    for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
      const original = Buffer[name].bind(Buffer);
      vi.spyOn(Buffer, name).mockImplementation(((size: number, ...rest: never[]) => {
        record.sizes.push(size);
        return (original as (size: number, ...rest: never[]) => Buffer)(size, ...rest);
      }) as typeof Buffer.alloc);
    }
    const from = Buffer.from.bind(Buffer);
    vi.spyOn(Buffer, 'from').mockImplementation(((...args: Parameters<typeof Buffer.from>) => {
      record.sizes.push(-1);
      return (from as (...args: unknown[]) => Buffer)(...args);
    }) as typeof Buffer.from);
    vi.spyOn(Buffer, 'concat');
    return record;
  }

  it('allocates nothing for messages it does not audit', () => {
    const chunk = Buffer.concat(
      Array.from({ length: 1000 }, () => [serialize.describe({ type: 'S', name: 'x' }), serialize.sync(), serialize.copyData(Buffer.alloc(100)), serialize.flush()]).flat(),
    );
    const framer = new FrontendFramer();
    const record = spyOnAllocation();
    framer.push(chunk, () => {});
    for (const piece of splitAt(chunk, [3, 1000, 1001, 1002, 5000, 5003])) framer.push(piece, () => {});
    expect(record.sizes).toEqual([]);
    expect(Buffer.concat).not.toHaveBeenCalled();
    expect(framer.atMessageBoundary).toBe(true);
  });

  it('allocates one head of at most maxAuditBytes for an audited message, however long it claims to be', () => {
    const framer = new FrontendFramer();
    const head = header('Q', MAX_MESSAGE_BYTES);
    const body = Buffer.alloc(100_000, 0x20);
    const record = spyOnAllocation();
    const frames: AuditedFrame[] = [];
    framer.push(head, (frame) => frames.push(frame));
    framer.push(body, (frame) => frames.push(frame));
    expect(record.sizes).toEqual([64 * 1024]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.bodyLength).toBe(MAX_MESSAGE_BYTES - 4);
    expect(frames[0]!.truncated).toBe(true);
  });

  it('throws on a huge claimed length before allocating anything', () => {
    fc.assert(
      fc.property(fc.constantFrom(...AUDITED_MESSAGE_TYPES, 0x64), fc.integer({ min: MAX_MESSAGE_BYTES + 1, max: 0x7fffffff }), (type, length) => {
        const record = spyOnAllocation();
        const bytes = Buffer.alloc(5);
        bytes[0] = type;
        bytes.writeInt32BE(length, 1);
        const error = caught(() => new FrontendFramer().push(bytes, () => {}));
        vi.restoreAllMocks();
        expect((error as ProtocolError).code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
        expect(record.sizes.filter((size) => size > 256)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('skips a 1 GiB CopyData in constant work per chunk', () => {
    const framer = new FrontendFramer();
    const chunk = Buffer.alloc(1024 * 1024);
    const frames: AuditedFrame[] = [];
    framer.push(header('d', MAX_MESSAGE_BYTES), () => {});
    let left = MAX_MESSAGE_BYTES - 4;
    const started = performance.now();
    while (left > chunk.length) {
      framer.push(chunk, () => {});
      left -= chunk.length;
    }
    framer.push(Buffer.concat([chunk.subarray(0, left), serialize.query('SELECT 1')]), (frame) => frames.push(frame));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(frames.map((frame) => frame.body.toString())).toEqual(['SELECT 1\0']);
    expect(framer.atMessageBoundary).toBe(true);
  });
});

describe('FrontendFramer on random bytes', () => {
  it('lets nothing but a ProtocolError escape, and splitting never changes the outcome', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.nat({ max: 400 }), { maxLength: 10 }),
        fc.integer({ min: 0, max: 40 }),
        (bytes, points, maxAuditBytes) => {
          const buf = Buffer.from(bytes);
          const outcome = (chunks: Buffer[]) => {
            const framer = new FrontendFramer({ maxAuditBytes });
            const frames: AuditedFrame[] = [];
            try {
              for (const chunk of chunks) framer.push(chunk, (frame) => frames.push(frame));
            } catch (error) {
              if (!(error instanceof ProtocolError)) throw error;
              return { frames, error: error.code, boundary: undefined };
            }
            return { frames, error: undefined, boundary: framer.atMessageBoundary };
          };
          const whole = outcome([buf]);
          expect(outcome(splitAt(buf, points.filter((point) => point <= buf.length)))).toEqual(whole);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('lets nothing but a ProtocolError escape from structured but hostile headers', () => {
    const hostileMessage = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.oneof(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.integer({ min: -2, max: 40 })), fc.uint8Array({ maxLength: 40 }))
      .map(([type, length, body]) => Buffer.concat([Buffer.from([type]), header('x', length).subarray(1), Buffer.from(body)]));
    fc.assert(
      fc.property(fc.array(hostileMessage, { maxLength: 8 }), (parts) => {
        try {
          run(byteByByte(Buffer.concat(parts)), { maxAuditBytes: 8 });
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
