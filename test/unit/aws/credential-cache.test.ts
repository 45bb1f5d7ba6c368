import { describe, expect, it } from 'vitest';
import { credentialMargin, ExpiringCache, type Expiring } from '../../../src/aws/credential-cache.js';

/** A mint the test resolves by hand, counting calls. */
function manualMint<T>() {
  const pending: { resolve: (value: Expiring<T>) => void; reject: (error: unknown) => void }[] = [];
  return {
    pending,
    calls: () => pending.length,
    mint: () => new Promise<Expiring<T>>((resolve, reject) => pending.push({ resolve, reject })),
  };
}

function cacheAt(clock: { now: number }, maxEntries?: number) {
  return new ExpiringCache<string>({ now: () => clock.now, marginMs: credentialMargin, maxEntries });
}

describe('credentialMargin', () => {
  it('is 60 s for long-lived tokens and a fifth of the life of short ones', () => {
    expect(credentialMargin(900_000)).toBe(60_000);
    expect(credentialMargin(3_600_000)).toBe(60_000);
    expect(credentialMargin(10_000)).toBe(2_000);
    expect(credentialMargin(-5)).toBe(0);
  });
});

describe('ExpiringCache', () => {
  it('mints once for many concurrent callers and shares the result', async () => {
    const clock = { now: 0 };
    const cache = cacheAt(clock);
    const mint = manualMint<string>();
    const waiting = Array.from({ length: 20 }, () => cache.get('c1/awsuser/dev', mint.mint));
    expect(mint.calls()).toBe(1);
    mint.pending[0]!.resolve({ value: 'password-1', expiresAt: 900_000 });
    expect(await Promise.all(waiting)).toEqual(Array(20).fill('password-1'));
    expect(await cache.get('c1/awsuser/dev', mint.mint)).toBe('password-1');
    expect(mint.calls()).toBe(1);
  });

  it('keeps one flight per key: different keys mint separately', async () => {
    const clock = { now: 0 };
    const cache = cacheAt(clock);
    const mint = manualMint<string>();
    const a = cache.get('a', mint.mint);
    const b = cache.get('b', mint.mint);
    expect(mint.calls()).toBe(2);
    mint.pending[0]!.resolve({ value: 'A', expiresAt: 900_000 });
    mint.pending[1]!.resolve({ value: 'B', expiresAt: 900_000 });
    expect([await a, await b]).toEqual(['A', 'B']);
  });

  it('serves a value until the safety margin before expiry, then mints a new one', async () => {
    const clock = { now: 1_000 };
    const cache = cacheAt(clock);
    let minted = 0;
    const mint = async () => ({ value: `p${++minted}`, expiresAt: clock.now + 900_000 });
    expect(await cache.get('k', mint)).toBe('p1');
    clock.now = 1_000 + 900_000 - 60_000 - 1; // one ms before the margin
    expect(await cache.get('k', mint)).toBe('p1');
    clock.now += 1; // at the margin: 60 s before expiry is too close
    expect(await cache.get('k', mint)).toBe('p2');
  });

  it('never serves an expired value, even when the margin would not have caught it', async () => {
    const clock = { now: 0 };
    const cache = new ExpiringCache<string>({ now: () => clock.now, marginMs: () => 0 });
    let minted = 0;
    const mint = async () => ({ value: `p${++minted}`, expiresAt: 10_000 + minted * 100_000 });
    expect(await cache.get('k', mint)).toBe('p1');
    clock.now = 110_000; // exactly p1's expiry
    expect(await cache.get('k', mint)).toBe('p2');
  });

  it('hands a value that arrives already too close to expiry to its callers but does not keep it', async () => {
    const clock = { now: 0 };
    const cache = cacheAt(clock);
    const mint = manualMint<string>();
    const first = cache.get('k', mint.mint);
    clock.now = 899_000; // the call took long: the token expires at 900 000, inside the 60 s margin
    mint.pending[0]!.resolve({ value: 'late', expiresAt: 900_000 });
    expect(await first).toBe('late');
    expect(cache.size).toBe(0);
    const second = cache.get('k', mint.mint);
    expect(mint.calls()).toBe(2);
    mint.pending[1]!.resolve({ value: 'fresh', expiresAt: 2_000_000 });
    expect(await second).toBe('fresh');
  });

  it('does not keep a failure: every waiter sees it and the next caller mints again', async () => {
    const clock = { now: 0 };
    const cache = cacheAt(clock);
    const mint = manualMint<string>();
    const waiting = [cache.get('k', mint.mint), cache.get('k', mint.mint)];
    mint.pending[0]!.reject(new Error('AccessDenied'));
    for (const result of await Promise.allSettled(waiting)) expect(result).toMatchObject({ status: 'rejected', reason: { message: 'AccessDenied' } });
    const retry = cache.get('k', mint.mint);
    expect(mint.calls()).toBe(2);
    mint.pending[1]!.resolve({ value: 'ok', expiresAt: 900_000 });
    expect(await retry).toBe('ok');
  });

  it('forgets a value on delete', async () => {
    const clock = { now: 0 };
    const cache = cacheAt(clock);
    let minted = 0;
    const mint = async () => ({ value: `p${++minted}`, expiresAt: 900_000 });
    await cache.get('k', mint);
    cache.delete('k');
    expect(await cache.get('k', mint)).toBe('p2');
  });

  it('stays within maxEntries, dropping expired entries and then those that expire first', async () => {
    const clock = { now: 0 };
    const cache = cacheAt(clock, 2);
    await cache.get('short', async () => ({ value: 's', expiresAt: 100_000 }));
    await cache.get('long', async () => ({ value: 'l', expiresAt: 900_000 }));
    await cache.get('longer', async () => ({ value: 'L', expiresAt: 1_800_000 }));
    expect(cache.size).toBe(2);
    let reminted = false;
    expect(await cache.get('long', async () => ((reminted = true), { value: 'x', expiresAt: 900_000 }))).toBe('l');
    expect(reminted).toBe(false);
    expect(await cache.get('short', async () => ({ value: 's2', expiresAt: 200_000 }))).toBe('s2');
  });
});
