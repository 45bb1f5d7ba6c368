// SharedLoginThrottle: each worker's login failures and successes count in every worker, so the
// listener spreading a guesser's attempts over workers does not multiply the attempts allowed.
import { describe, expect, it } from 'vitest';
import type { ThrottlePayload } from '../../../src/cluster/protocol.js';
import { SharedLoginThrottle } from '../../../src/cluster/shared-login-throttle.js';

function twoWorkers() {
  let now = 1_000_000;
  const options = { maxFailures: 3, lockoutMs: 60_000, now: () => now };
  const workers: SharedLoginThrottle[] = [];
  // The primary passes each outcome to the other worker.
  const relay = (from: number) => (outcome: ThrottlePayload) => workers[1 - from]?.recordElsewhere(outcome);
  workers.push(new SharedLoginThrottle(options, relay(0)), new SharedLoginThrottle(options, relay(1)));
  return { workers, advance: (ms: number) => (now += ms) };
}

describe('SharedLoginThrottle', () => {
  it('throttles a user in every worker once the failures in all of them reach the limit', () => {
    const { workers } = twoWorkers();
    const [a, b] = workers as [SharedLoginThrottle, SharedLoginThrottle];
    a.recordFailure('alice', '192.0.2.1');
    b.recordFailure('alice', '192.0.2.2');
    expect(a.retryAfterMs('alice', '192.0.2.9')).toBe(0);
    a.recordFailure('alice', '192.0.2.3');
    expect(a.retryAfterMs('alice', '192.0.2.9')).toBe(60_000);
    expect(b.retryAfterMs('alice', '192.0.2.9')).toBe(60_000);
  });

  it('throttles an address in every worker too', () => {
    const { workers } = twoWorkers();
    const [a, b] = workers as [SharedLoginThrottle, SharedLoginThrottle];
    a.recordFailure('u1', '198.51.100.7');
    b.recordFailure('u2', '198.51.100.7');
    b.recordFailure('u3', '198.51.100.7');
    expect(a.retryAfterMs('u4', '198.51.100.7')).toBeGreaterThan(0);
    expect(b.retryAfterMs('u4', '198.51.100.7')).toBeGreaterThan(0);
  });

  it('clears the user everywhere on a success, as one process would', () => {
    const { workers } = twoWorkers();
    const [a, b] = workers as [SharedLoginThrottle, SharedLoginThrottle];
    a.recordFailure('alice', '192.0.2.1');
    a.recordFailure('alice', '192.0.2.2');
    b.recordSuccess('alice', '192.0.2.3');
    a.recordFailure('alice', '192.0.2.4');
    expect(a.retryAfterMs('alice', '192.0.2.5')).toBe(0);
    expect(b.retryAfterMs('alice', '192.0.2.5')).toBe(0);
  });

  it('does not tell the others what it heard from them (no echo)', () => {
    const told: ThrottlePayload[] = [];
    const throttle = new SharedLoginThrottle({ maxFailures: 3, lockoutMs: 1_000 }, (outcome) => told.push(outcome));
    throttle.recordElsewhere({ outcome: 'failure', user: 'bob', address: '192.0.2.1' });
    expect(told).toEqual([]);
    throttle.recordFailure('bob', '192.0.2.1');
    expect(told).toEqual([{ outcome: 'failure', user: 'bob', address: '192.0.2.1' }]);
  });
});
