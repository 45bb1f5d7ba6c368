// With proxy.workers > 1 the process id of a BackendKeyData carries the index of the worker that
// issued it, so a CancelRequest landing on another worker can be passed to the right one.
import { describe, expect, it } from 'vitest';
import { CancelKeys, MAX_WORKER_INDEX, workerOfProcessId, workerProcessId, type CancelTarget } from '../../../src/proxy/cancel-keys.js';

const upstream: CancelTarget = {
  databaseName: 'app',
  target: { host: 'db.internal', port: 5432, tls: { mode: 'verify-full', serverName: 'db.internal' } },
  processId: 4242,
  secretKey: Buffer.from([1, 2, 3, 4]),
};

describe('the worker index in a process id', () => {
  it('round-trips every index with the smallest and largest random part, as a positive int32', () => {
    for (let index = 0; index <= MAX_WORKER_INDEX; index++) {
      for (const random of [1, 2 ** 25 - 1, 12345]) {
        const processId = workerProcessId(index, random);
        expect(processId).toBeGreaterThanOrEqual(1);
        expect(processId).toBeLessThanOrEqual(0x7fffffff);
        // What the client sends back is an Int32 on the wire: it must survive that.
        const wire = Buffer.alloc(4);
        wire.writeInt32BE(processId);
        expect(workerOfProcessId(wire.readInt32BE())).toBe(index);
      }
    }
    expect(workerProcessId(MAX_WORKER_INDEX, 2 ** 25 - 1)).toBe(0x7fffffff);
  });

  it('is set in every key a worker issues', () => {
    for (const workerIndex of [0, 1, 37, MAX_WORKER_INDEX]) {
      const keys = new CancelKeys({ workerIndex, passToWorker: () => undefined });
      for (let i = 0; i < 200; i++) {
        const issued = keys.issue(upstream);
        expect(workerOfProcessId(issued.processId)).toBe(workerIndex);
        expect(issued.processId).toBeGreaterThanOrEqual(1);
        expect(keys.lookup(issued.processId, issued.secretKey)).toBe(upstream);
      }
    }
  });

  it('refuses an index outside 0 to 63', () => {
    expect(() => new CancelKeys({ workerIndex: 64 })).toThrow('worker index must be a whole number from 0 to 63, not 64');
    expect(() => new CancelKeys({ workerIndex: -1 })).toThrow(RangeError);
    expect(() => new CancelKeys({ workerIndex: 1.5 })).toThrow(RangeError);
  });
});

describe('passIfElsewhere', () => {
  it('passes another worker’s key to that worker with a copy of the secret, and keeps its own', () => {
    const passed: { owner: number; processId: number; secretKey: Buffer }[] = [];
    const keys = new CancelKeys({ workerIndex: 1, passToWorker: (owner, processId, secretKey) => passed.push({ owner, processId, secretKey }) });
    const own = keys.issue(upstream);
    expect(keys.passIfElsewhere(own.processId, own.secretKey)).toBe(false);
    expect(passed).toEqual([]);

    const theirs = workerProcessId(3, 99);
    const wire = Buffer.from([9, 8, 7, 6, 5]);
    const secret = wire.subarray(1);
    expect(keys.passIfElsewhere(theirs, secret)).toBe(true);
    wire.fill(0); // the parser's buffer is reused: what was passed must not change with it
    expect(passed).toEqual([{ owner: 3, processId: theirs, secretKey: Buffer.from([8, 7, 6, 5]) }]);
  });

  it('never passes anything in a single-process Gatehouse, whatever the key says', () => {
    const keys = new CancelKeys();
    const issued = keys.issue(upstream);
    expect(keys.passIfElsewhere(workerProcessId(5, 1), Buffer.alloc(4))).toBe(false);
    expect(keys.passIfElsewhere(issued.processId, issued.secretKey)).toBe(false);
    expect(keys.lookup(issued.processId, issued.secretKey)).toBe(upstream);
  });
});
