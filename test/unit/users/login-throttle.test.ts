import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../../src/users/login-throttle.js';

const MINUTE = 60_000;

function throttle(options: { maxFailures?: number; lockoutMs?: number; maxKeys?: number } = {}) {
  const clock = { now: 1_000_000 };
  const instance = new LoginThrottle({ maxFailures: options.maxFailures ?? 3, lockoutMs: options.lockoutMs ?? 5 * MINUTE, maxKeys: options.maxKeys, now: () => clock.now });
  return { throttle: instance, clock };
}

describe('LoginThrottle', () => {
  it('lets a user try until maxFailures failures, then until the oldest of them leaves the window', () => {
    const { throttle: t, clock } = throttle();
    t.recordFailure('alice', '10.0.0.1');
    clock.now += 10_000;
    t.recordFailure('alice', '10.0.0.1');
    expect(t.retryAfterMs('alice', '10.0.0.1')).toBe(0);
    clock.now += 10_000;
    t.recordFailure('alice', '10.0.0.1');
    // Failures at 0 s, 10 s and 20 s: refused until the first is 5 minutes old.
    expect(t.retryAfterMs('alice', '10.0.0.1')).toBe(5 * MINUTE - 20_000);
    clock.now += 5 * MINUTE - 20_000 - 1;
    expect(t.retryAfterMs('alice', '10.0.0.1')).toBe(1);
    clock.now += 1;
    expect(t.retryAfterMs('alice', '10.0.0.1')).toBe(0);
    // One more failure now is the third within the window again (10 s, 20 s, now): wait until 10 s + 5 min.
    t.recordFailure('alice', '10.0.0.1');
    expect(t.retryAfterMs('alice', '10.0.0.1')).toBe(10_000);
  });

  it('counts per user across addresses', () => {
    const { throttle: t } = throttle();
    t.recordFailure('alice', '10.0.0.1');
    t.recordFailure('alice', '10.0.0.2');
    t.recordFailure('alice', '10.0.0.3');
    expect(t.retryAfterMs('alice', '10.0.0.9')).toBe(5 * MINUTE);
    expect(t.retryAfterMs('bob', '10.0.0.9')).toBe(0);
  });

  it('counts per address across users, treating an IPv4-mapped IPv6 address as the IPv4 one', () => {
    const { throttle: t } = throttle();
    t.recordFailure('a', '192.0.2.7');
    t.recordFailure('b', '::ffff:192.0.2.7');
    t.recordFailure('c', '::FFFF:192.0.2.7');
    expect(t.retryAfterMs('zed', '192.0.2.7')).toBe(5 * MINUTE);
    expect(t.retryAfterMs('zed', '::ffff:192.0.2.7')).toBe(5 * MINUTE);
    expect(t.retryAfterMs('zed', '192.0.2.8')).toBe(0);
  });

  it('clears the user, not the address, on success', () => {
    const { throttle: t } = throttle();
    for (const user of ['alice', 'alice', 'bob']) t.recordFailure(user, '10.0.0.1');
    t.recordFailure('alice', '10.0.0.2');
    t.recordSuccess('alice', '10.0.0.1');
    // alice's own count is gone, but 10.0.0.1 still has three failures.
    expect(t.retryAfterMs('alice', '10.0.0.2')).toBe(0);
    expect(t.retryAfterMs('alice', '10.0.0.1')).toBe(5 * MINUTE);
  });

  it('forgets failures older than the window', () => {
    const { throttle: t, clock } = throttle();
    t.recordFailure('alice', '10.0.0.1');
    t.recordFailure('alice', '10.0.0.1');
    clock.now += 5 * MINUTE;
    t.recordFailure('alice', '10.0.0.1');
    expect(t.retryAfterMs('alice', '10.0.0.1')).toBe(0);
  });

  it('answers with the longer of the user and address waits', () => {
    const { throttle: t, clock } = throttle({ maxFailures: 2 });
    t.recordFailure('alice', '10.0.0.1');
    clock.now += 60_000;
    t.recordFailure('alice', '10.0.0.2');
    t.recordFailure('bob', '10.0.0.2');
    // alice: failures at 0 and 60 s → 4 min left; 10.0.0.2: failures at 60 s, 60 s → 5 min left.
    expect(t.retryAfterMs('alice', '10.0.0.3')).toBe(4 * MINUTE);
    expect(t.retryAfterMs('carol', '10.0.0.2')).toBe(5 * MINUTE);
    expect(t.retryAfterMs('alice', '10.0.0.2')).toBe(5 * MINUTE);
  });

  it('keeps at most maxKeys users and maxKeys addresses, evicting the one whose last failure is oldest', () => {
    const { throttle: t, clock } = throttle({ maxFailures: 1, maxKeys: 3 });
    for (const user of ['u1', 'u2', 'u3']) {
      t.recordFailure(user, `addr-${user}`);
      clock.now += 1;
    }
    // u1 fails again, so u2 is now the oldest; u4 pushes it out.
    t.recordFailure('u1', 'addr-u1');
    t.recordFailure('u4', 'addr-u4');
    expect(t.retryAfterMs('u2', 'elsewhere')).toBe(0);
    expect(t.retryAfterMs('nobody', 'addr-u2')).toBe(0);
    for (const user of ['u1', 'u3', 'u4']) {
      expect(t.retryAfterMs(user, 'elsewhere'), user).toBeGreaterThan(0);
      expect(t.retryAfterMs('nobody', `addr-${user}`), user).toBeGreaterThan(0);
    }
  });

  it('keeps a user counted while a guesser floods the table with addresses', () => {
    const { throttle: t } = throttle({ maxFailures: 3, maxKeys: 10 });
    for (let i = 0; i < 100; i++) t.recordFailure('alice', `198.51.100.${i}`);
    expect(t.retryAfterMs('alice', '203.0.113.1')).toBeGreaterThan(0);
  });

  it('refuses settings that would disable it', () => {
    expect(() => new LoginThrottle({ maxFailures: 0, lockoutMs: MINUTE })).toThrow(/maxFailures/);
    expect(() => new LoginThrottle({ maxFailures: 1.5, lockoutMs: MINUTE })).toThrow(/maxFailures/);
    expect(() => new LoginThrottle({ maxFailures: 5, lockoutMs: 0 })).toThrow(/lockoutMs/);
  });
});

describe('LoginThrottle with oversized names', () => {
  it('still counts a user name far longer than any real one', () => {
    const { throttle: t } = throttle({ maxFailures: 2 });
    const long = 'x'.repeat(60_000);
    t.recordFailure(long, '10.0.0.1');
    t.recordFailure(long, '10.0.0.2');
    expect(t.retryAfterMs(long, '10.0.0.3')).toBe(5 * MINUTE);
    expect(t.retryAfterMs(`${long}y`, '10.0.0.3')).toBe(0);
    t.recordSuccess(long, '10.0.0.3');
    expect(t.retryAfterMs(long, '10.0.0.3')).toBe(0);
  });
});
