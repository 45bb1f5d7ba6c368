// StartupReader, the socket side of the startup parser. Properties: fed the same bytes in any
// pieces it returns the same packets (and a PROXY header first when asked), leaves exactly the
// bytes after the last packet for whoever takes over, refuses with ProtocolError or
// ClientClosedError only, and never holds more than the startup packet cap plus the chunk that
// crossed it. Examples: socket errors during startup are refusals, never internal errors.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatehouseError, ProtocolError } from '../../../src/errors.js';
import { MAX_STARTUP_PACKET_BYTES } from '../../../src/protocol/constants.js';
import { parseProxyHeader } from '../../../src/protocol/proxy-protocol.js';
import { cancelRequest, sslRequest, startupMessage } from '../../../src/protocol/startup-message.js';
import { clientErrorFor } from '../../../src/proxy/client-errors.js';
import { ClientClosedError, clientSocketError, StartupReader } from '../../../src/proxy/startup-reader.js';
import { cutPoints, mutate, mutation, splitAt } from '../../support/wire-properties.js';

/** The parts of a net.Socket StartupReader uses: data/end/close/error events and pause(). */
class FakeSocket extends EventEmitter {
  paused = false;
  pause(): this {
    this.paused = true;
    return this;
  }
}

const packetBytes = fc.oneof(
  fc.constant(sslRequest()),
  fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.uint8Array({ minLength: 4, maxLength: 32 })).map(([pid, key]) => cancelRequest(pid, Buffer.from(key))),
  fc
    .dictionary(fc.stringMatching(/^[a-z_]{1,12}$/), fc.stringMatching(/^[ -~]{0,30}$/), { maxKeys: 5 })
    .map((params) => startupMessage(new Map(Object.entries(params)))),
);

const proxyHeader = fc.oneof(
  fc.constant(Buffer.from('PROXY TCP4 10.1.2.3 10.0.0.1 51234 5432\r\n')),
  fc.constant(Buffer.from('PROXY UNKNOWN\r\n')),
  fc.constant(Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), Buffer.from([0x21, 0x11, 0, 12, 10, 1, 2, 3, 10, 0, 0, 1, 0xc8, 0x22, 0x15, 0x38])])),
);

/** Feeds `chunks` one per macrotask (as a socket would) and collects what `read` returns. */
async function feed<T>(chunks: readonly Buffer[], read: (reader: StartupReader) => Promise<T>, end = true): Promise<{ value?: T; error?: unknown; rest: Buffer; socket: FakeSocket }> {
  const socket = new FakeSocket();
  const reader = new StartupReader(socket as unknown as Socket);
  const reading = read(reader).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  for (const chunk of chunks) {
    await new Promise((resolve) => setImmediate(resolve));
    socket.emit('data', chunk);
  }
  await new Promise((resolve) => setImmediate(resolve));
  if (end) socket.emit('end');
  const result = await reading;
  return { ...result, rest: reader.detach(), socket };
}

async function readPackets(reader: StartupReader, count: number, withProxy: boolean) {
  const header = withProxy ? await reader.take((buffered) => {
    const result = parseProxyHeader(buffered);
    if (result.kind === 'need-more') return null;
    return result.kind === 'header' ? { value: result.header, consumed: result.consumed } : { value: undefined, consumed: 0 };
  }) : undefined;
  const packets = [];
  for (let i = 0; i < count; i++) packets.push(await reader.next());
  return { header, packets };
}

describe('StartupReader', () => {
  it('reads the same PROXY header and packets however the bytes arrive, and hands over exactly the rest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(proxyHeader, { nil: undefined }), fc.array(packetBytes, { minLength: 1, maxLength: 3 }), fc.uint8Array({ maxLength: 20 }), cutPoints(300), async (header, packets, trailer, points) => {
        const stream = Buffer.concat([header ?? Buffer.alloc(0), ...packets, Buffer.from(trailer)]);
        const read = (reader: StartupReader) => readPackets(reader, packets.length, header !== undefined);
        const whole = await feed([stream], read, false);
        const pieces = await feed(splitAt(stream, points), read, false);
        expect(whole.error).toBeUndefined();
        expect(pieces.value).toEqual(whole.value);
        expect(pieces.rest).toEqual(Buffer.from(trailer));
        expect(pieces.socket.paused).toBe(true);
        expect(pieces.socket.listenerCount('data')).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses mutated or cut streams with ProtocolError or ClientClosedError only, holding at most the cap plus one chunk', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(packetBytes, { minLength: 1, maxLength: 3 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), cutPoints(300), async (packets, changes, points) => {
        const stream = mutate(Buffer.concat(packets), changes);
        const chunks = splitAt(stream, points);
        const result = await feed(chunks, (reader) => readPackets(reader, packets.length + 1, false));
        // It asked for one packet more than was sent, so it must end with an error.
        expect(result.error === undefined ? 'none' : result.error instanceof ProtocolError || result.error instanceof ClientClosedError).toBe(true);
        const largestChunk = Math.max(...chunks.map((chunk) => chunk.length));
        expect(result.rest.length).toBeLessThanOrEqual(MAX_STARTUP_PACKET_BYTES + largestChunk);
      }),
      { numRuns: 300 },
    );
  });
});

// Found by the network fuzzer: a client that reset its connection, or sent bytes TLS could not
// read, during startup was logged as "session failed unexpectedly" (an internal error, XX000).
describe('StartupReader on socket errors', () => {
  function failWith(error: Error): Promise<unknown> {
    const socket = new FakeSocket();
    const reading = new StartupReader(socket as unknown as Socket).next().catch((reason: unknown) => reason);
    socket.emit('data', sslRequest().subarray(0, 3));
    socket.emit('error', error);
    return reading;
  }

  it('reads a reset as the client having left', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
    const error = await failWith(reset);
    expect(error).toBeInstanceOf(ClientClosedError);
    expect((error as ClientClosedError).cause).toBe(reset);
    expect(clientErrorFor(error, 'id').unexpected).toBe(false);
  });

  it('refuses what TLS could not read as a protocol violation, with OpenSSL\'s short reason', async () => {
    const tlsError = Object.assign(new Error('80EC44BFE47F0000:error:0A0001BB:SSL routines:ssl3_get_record:bad record type:../deps/openssl/openssl/ssl/record/ssl3_record.c:367:\n'), {
      library: 'SSL routines',
      reason: 'bad record type',
      code: 'ERR_SSL_BAD_RECORD_TYPE',
    });
    const error = await failWith(tlsError);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).sqlState).toBe('08P01');
    expect((error as ProtocolError).message).toBe("the client's connection failed during startup: bad record type");
    expect(clientErrorFor(error, 'id').unexpected).toBe(false);
  });

  it('keeps a GatehouseError as it is, and names any other error by its code or message', () => {
    const own = new ProtocolError('already typed');
    expect(clientSocketError(own)).toBe(own);
    expect(clientSocketError(Object.assign(new Error('x'), { code: 'EHOSTUNREACH' })).message).toBe("the client's connection failed during startup: EHOSTUNREACH");
    expect(clientSocketError(new Error('  something broke \n')).message).toBe("the client's connection failed during startup: something broke");
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']) {
      expect(clientSocketError(Object.assign(new Error(code), { code }))).toBeInstanceOf(ClientClosedError);
    }
    expect(clientSocketError(new Error('x'))).toBeInstanceOf(GatehouseError);
  });
});
