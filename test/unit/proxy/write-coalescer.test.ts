// WriteCoalescer gathers the bulk chunks of one turn of the event loop into one write, and leaves
// small (interactive) chunks alone; order and backpressure stay the socket's.
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BULK_CHUNK_BYTES, WriteCoalescer } from '../../../src/proxy/write-coalescer.js';

/** A Writable that records each write it performs: one entry per _write, or per _writev batch. */
function recordingSocket(highWaterMark = 64 * 1024): Writable & { batches: Buffer[][] } {
  const batches: Buffer[][] = [];
  const socket = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, callback) {
      batches.push([chunk]);
      callback();
    },
    writev(chunks, callback) {
      batches.push(chunks.map(({ chunk }) => chunk as Buffer));
      callback();
    },
  });
  return Object.assign(socket, { batches });
}

const bulk = (fill: number) => Buffer.alloc(BULK_CHUNK_BYTES, fill);

describe('WriteCoalescer', () => {
  it('writes small chunks at once, one write each', () => {
    const socket = recordingSocket();
    const coalescer = new WriteCoalescer(socket);
    coalescer.write(Buffer.from('reply 1'));
    coalescer.write(Buffer.from('reply 2'));
    expect(socket.writableCorked).toBe(0);
    expect(socket.batches.map((batch) => Buffer.concat(batch).toString())).toEqual(['reply 1', 'reply 2']);
  });

  it('gathers a bulk chunk and everything after it in the same turn into one write, in order', async () => {
    const socket = recordingSocket();
    const coalescer = new WriteCoalescer(socket);
    coalescer.write(bulk(1));
    coalescer.write(Buffer.from('small tail'));
    coalescer.write(bulk(2));
    expect(socket.batches).toEqual([]);
    await nextTurn();
    expect(socket.batches).toHaveLength(1);
    expect(Buffer.concat(socket.batches[0]!)).toEqual(Buffer.concat([bulk(1), Buffer.from('small tail'), bulk(2)]));
    expect(socket.writableCorked).toBe(0);
  });

  it('starts afresh in the next turn', async () => {
    const socket = recordingSocket();
    const coalescer = new WriteCoalescer(socket);
    coalescer.write(bulk(1));
    await nextTurn();
    coalescer.write(Buffer.from('next turn'));
    expect(socket.batches.map((batch) => batch.length)).toEqual([1, 1]);
  });

  it('reports a full buffer while corked, so the source pauses', () => {
    const socket = recordingSocket(BULK_CHUNK_BYTES * 2);
    const coalescer = new WriteCoalescer(socket);
    expect(coalescer.write(bulk(1))).toBe(true);
    expect(coalescer.write(bulk(2))).toBe(false);
  });

  it('lets end() write what is corked', async () => {
    const socket = recordingSocket();
    const coalescer = new WriteCoalescer(socket);
    coalescer.write(bulk(1));
    socket.end(Buffer.from('bye'));
    await new Promise((resolve) => socket.once('finish', resolve));
    expect(Buffer.concat(socket.batches.flat())).toEqual(Buffer.concat([bulk(1), Buffer.from('bye')]));
    await nextTurn();
  });
});
