import { describe, expect, it } from 'vitest';
import { LruSaltedPasswordCache } from '../../../../src/auth/upstream/salted-password-cache.js';

describe('LruSaltedPasswordCache', () => {
  it('returns what was set', () => {
    const cache = new LruSaltedPasswordCache();
    cache.set('a', Buffer.from([1, 2, 3]));
    expect(cache.get('a')).toEqual(Buffer.from([1, 2, 3]));
    expect(cache.get('b')).toBeUndefined();
  });

  it('evicts the least recently used entry past its bound', () => {
    const cache = new LruSaltedPasswordCache(2);
    cache.set('a', Buffer.from([1]));
    cache.set('b', Buffer.from([2]));
    cache.get('a');
    cache.set('c', Buffer.from([3]));
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(Buffer.from([1]));
    expect(cache.get('c')).toEqual(Buffer.from([3]));
  });

  it('replacing a key does not grow it', () => {
    const cache = new LruSaltedPasswordCache(2);
    cache.set('a', Buffer.from([1]));
    cache.set('a', Buffer.from([9]));
    expect(cache.size).toBe(1);
    expect(cache.get('a')).toEqual(Buffer.from([9]));
  });

  it('keeps its own copies, so callers cannot change the next login\'s value', () => {
    const cache = new LruSaltedPasswordCache();
    const value = Buffer.from([1, 2]);
    cache.set('a', value);
    value[0] = 9;
    cache.get('a')![1] = 9;
    expect(cache.get('a')).toEqual(Buffer.from([1, 2]));
  });

  it('defaults to 1024 entries', () => {
    const cache = new LruSaltedPasswordCache();
    for (let i = 0; i < 1100; i++) cache.set(String(i), Buffer.alloc(1));
    expect(cache.size).toBe(1024);
    expect(cache.get('75')).toBeUndefined();
    expect(cache.get('76')).toBeDefined();
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a bound of %s', (bound) => {
    expect(() => new LruSaltedPasswordCache(bound)).toThrow(RangeError);
  });
});
