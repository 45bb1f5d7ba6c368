// CancelKeys hands each session a BackendKeyData of Gatehouse's own and maps it back to the
// database's real key when a CancelRequest arrives.
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as crypto from 'node:crypto';
import { CancelKeys, type CancelTarget } from '../../../src/proxy/cancel-keys.js';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, randomInt: vi.fn(actual.randomInt) };
});

afterEach(() => {
  vi.mocked(crypto.randomInt).mockReset();
});

function target(databaseName: string, processId: number): CancelTarget {
  return {
    databaseName,
    target: { host: 'db.internal', port: 5432, tls: { mode: 'verify-full', serverName: 'db.internal' } },
    processId,
    secretKey: Buffer.from([1, 2, 3, 4]),
  };
}

describe('CancelKeys', () => {
  it('issues a 4-byte key with a positive int32 process id, and finds the target by it', () => {
    const keys = new CancelKeys();
    const upstream = target('app', 4242);
    const issued = keys.issue(upstream);
    expect(Number.isInteger(issued.processId)).toBe(true);
    expect(issued.processId).toBeGreaterThanOrEqual(1);
    expect(issued.processId).toBeLessThanOrEqual(0x7fffffff);
    expect(issued.secretKey).toHaveLength(4);
    expect(keys.lookup(issued.processId, issued.secretKey)).toBe(upstream);
  });

  it('never hands out the database’s own process id or key', () => {
    const keys = new CancelKeys();
    const upstream = target('app', 4242);
    const issued = keys.issue(upstream);
    // A collision with the real pid is possible only by chance (1 in 2^31); the key is what matters.
    expect(issued.secretKey.equals(upstream.secretKey) && issued.processId === upstream.processId).toBe(false);
    expect(keys.lookup(upstream.processId, upstream.secretKey)).toBeUndefined();
  });

  it('finds the target from a key that arrives in a different buffer', () => {
    const keys = new CancelKeys();
    const upstream = target('app', 1);
    const issued = keys.issue(upstream);
    const fromWire = Buffer.concat([Buffer.from([0xff]), issued.secretKey]).subarray(1);
    expect(keys.lookup(issued.processId, fromWire)).toBe(upstream);
  });

  it('refuses a wrong key, a key of another length, and an unknown process id', () => {
    const keys = new CancelKeys();
    const issued = keys.issue(target('app', 1));
    const wrong = Buffer.from(issued.secretKey);
    wrong[3] = wrong[3]! ^ 0x01;
    expect(keys.lookup(issued.processId, wrong)).toBeUndefined();
    expect(keys.lookup(issued.processId, Buffer.alloc(0))).toBeUndefined();
    expect(keys.lookup(issued.processId, issued.secretKey.subarray(0, 3))).toBeUndefined();
    expect(keys.lookup(issued.processId, Buffer.concat([issued.secretKey, Buffer.from([0])]))).toBeUndefined();
    expect(keys.lookup(issued.processId, Buffer.concat([issued.secretKey, Buffer.alloc(252)]))).toBeUndefined();
    const unknown = issued.processId === 0x7fffffff ? 1 : issued.processId + 1;
    expect(keys.lookup(unknown, issued.secretKey)).toBeUndefined();
  });

  it('does not accept one session’s key with another session’s process id', () => {
    const keys = new CancelKeys();
    const a = keys.issue(target('a', 1));
    const b = keys.issue(target('b', 2));
    // (Two random 4-byte keys collide once in 2^32 runs; not worth a guard.)
    expect(keys.lookup(a.processId, b.secretKey)).toBeUndefined();
    expect(keys.lookup(b.processId, a.secretKey)).toBeUndefined();
    expect(keys.lookup(a.processId, a.secretKey)!.databaseName).toBe('a');
    expect(keys.lookup(b.processId, b.secretKey)!.databaseName).toBe('b');
  });

  it('forgets a key once released, and counts the keys it holds', () => {
    const keys = new CancelKeys();
    expect(keys.size).toBe(0);
    const a = keys.issue(target('app', 1));
    const b = keys.issue(target('app', 2));
    expect(keys.size).toBe(2);
    keys.release(a.processId);
    expect(keys.size).toBe(1);
    expect(keys.lookup(a.processId, a.secretKey)).toBeUndefined();
    expect(keys.lookup(b.processId, b.secretKey)).toBeDefined();
    keys.release(a.processId); // twice: nothing happens
    keys.release(b.processId === 123 ? 124 : 123); // never issued: nothing happens
    expect(keys.size).toBe(1);
    keys.release(b.processId);
    expect(keys.size).toBe(0);
  });

  it('issues a distinct process id to every live session', () => {
    const keys = new CancelKeys();
    const ids = new Set<number>();
    for (let i = 0; i < 5000; i++) ids.add(keys.issue(target('app', i)).processId);
    expect(ids.size).toBe(5000);
    expect(keys.size).toBe(5000);
  });

  it('draws again when the random process id is already taken', () => {
    const keys = new CancelKeys();
    vi.mocked(crypto.randomInt)
      .mockImplementationOnce(() => 77)
      .mockImplementationOnce(() => 77)
      .mockImplementationOnce(() => 77)
      .mockImplementationOnce(() => 78);
    const first = keys.issue(target('a', 1));
    const second = keys.issue(target('b', 2));
    expect(first.processId).toBe(77);
    expect(second.processId).toBe(78);
    expect(keys.lookup(77, first.secretKey)!.databaseName).toBe('a');
    expect(keys.lookup(78, second.secretKey)!.databaseName).toBe('b');
  });

  it('may reuse a released process id', () => {
    const keys = new CancelKeys();
    vi.mocked(crypto.randomInt)
      .mockImplementationOnce(() => 5)
      .mockImplementationOnce(() => 5);
    const first = keys.issue(target('a', 1));
    keys.release(first.processId);
    const second = keys.issue(target('b', 2));
    expect(second.processId).toBe(5);
    expect(keys.lookup(5, second.secretKey)!.databaseName).toBe('b');
  });
});

