// LineDestination: a worker's log and audit lines go to the primary in batches of whole lines, and
// straight to the fallback once the primary is gone.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LineDestination } from '../../../src/cluster/line-destination.js';
import type { OutputStream } from '../../../src/cluster/protocol.js';

function recorder(options: { connected?: boolean; maxBatchChars?: number; flushAfterMs?: number } = {}) {
  const batches: { stream: OutputStream; text: string }[] = [];
  const fallback: string[] = [];
  const state = { connected: options.connected ?? true };
  const destination = new LineDestination('audit', {
    send: (stream, text, sent) => {
      batches.push({ stream, text });
      setImmediate(sent);
    },
    connected: () => state.connected,
    fallback: (text) => fallback.push(text),
    maxBatchChars: options.maxBatchChars,
    flushAfterMs: options.flushAfterMs,
  });
  return { destination, batches, fallback, state };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('LineDestination', () => {
  it('sends the lines written in one turn of the event loop as one batch', async () => {
    const { destination, batches } = recorder();
    destination.write('{"a":1}\n');
    destination.write('{"b":2}\n');
    expect(batches).toEqual([]);
    await tick();
    expect(batches).toEqual([{ stream: 'audit', text: '{"a":1}\n{"b":2}\n' }]);
  });

  it('sends at once when the batch reaches its size, and never splits a line', () => {
    const { destination, batches } = recorder({ maxBatchChars: 10, flushAfterMs: 60_000 });
    const long = `${'x'.repeat(5000)}\n`;
    destination.write('short\n');
    destination.write(long);
    expect(batches).toEqual([{ stream: 'audit', text: `short\n${long}` }]);
    destination.write('next\n');
    expect(batches).toHaveLength(1);
    destination.flush();
    expect(batches[1]).toEqual({ stream: 'audit', text: 'next\n' });
  });

  it('waits flushAfterMs before sending a small batch', async () => {
    const { destination, batches } = recorder({ flushAfterMs: 30 });
    destination.write('one\n');
    await tick();
    expect(batches).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(batches).toEqual([{ stream: 'audit', text: 'one\n' }]);
  });

  it('calls flush(done) once the batch is out, and at once when nothing is pending', async () => {
    const { destination, batches } = recorder({ flushAfterMs: 60_000 });
    let done = 0;
    destination.flush(() => done++);
    expect(done).toBe(1);
    destination.write('line\n');
    destination.flush(() => done++);
    expect(done).toBe(1);
    await tick();
    expect(done).toBe(2);
    expect(batches).toHaveLength(1);
  });

  it('emits finish on end() once every batch is out', async () => {
    const { destination, batches } = recorder({ flushAfterMs: 60_000 });
    destination.write('last\n');
    const finished = new Promise<void>((resolve) => destination.once('finish', () => resolve()));
    destination.end();
    await finished;
    expect(batches).toEqual([{ stream: 'audit', text: 'last\n' }]);
  });

  it('writes to the fallback once the primary is gone', async () => {
    const { destination, batches, fallback, state } = recorder();
    destination.write('before\n');
    await tick();
    state.connected = false;
    destination.write('after\n');
    await tick();
    expect(batches.map((batch) => batch.text)).toEqual(['before\n']);
    expect(fallback).toEqual(['after\n']);
    const finished = new Promise<void>((resolve) => destination.once('finish', () => resolve()));
    destination.end();
    await finished;
  });

  it('takes pino output: one JSON line per record', async () => {
    const { destination, batches } = recorder();
    const logger = pino({ base: null, timestamp: false }, destination);
    logger.info({ query: 'SELECT 1' }, 'session.query');
    logger.info('second');
    await tick();
    const lines = batches.map((batch) => batch.text).join('').split('\n');
    expect(lines.slice(0, 2).map((line) => JSON.parse(line) as unknown)).toEqual([
      { level: 30, query: 'SELECT 1', msg: 'session.query' },
      { level: 30, msg: 'second' },
    ]);
    expect(lines[2]).toBe('');
  });
});
