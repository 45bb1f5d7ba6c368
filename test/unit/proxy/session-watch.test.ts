// SessionWatch: the idle timeout (reset by the relay's traffic flag) and the certificate expiry,
// with fake timers; and which idle timeout a user's roles give.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import type { GatehouseError } from '../../../src/errors.js';
import { SessionWatch, idleTimeoutMsFor, type WatchedRelay } from '../../../src/proxy/session-watch.js';

class FakeRelay implements WatchedRelay {
  sawTraffic = false;
  ended: { error: GatehouseError; reason: string } | undefined;
  end(error: GatehouseError, reason: string): void {
    this.ended = { error, reason };
  }
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('SessionWatch', () => {
  it('ends a session with no traffic for the idle timeout with 57P05, and traffic postpones it', () => {
    const relay = new FakeRelay();
    const watch = new SessionWatch(relay, { idleTimeoutMs: 10_000 });
    watch.start();
    vi.advanceTimersByTime(9_000);
    relay.sawTraffic = true;
    vi.advanceTimersByTime(9_000);
    expect(relay.ended).toBeUndefined();
    vi.advanceTimersByTime(2_000);
    expect(relay.ended?.error.sqlState).toBe('57P05');
    expect(relay.ended?.reason).toBe('client_idle_timeout: no activity for 10s');
  });

  it('ends a session when its certificate expires with 28000', () => {
    const relay = new FakeRelay();
    const expiresAt = new Date(Date.now() + 5_000);
    const watch = new SessionWatch(relay, { idleTimeoutMs: 0, certificateExpiresAt: expiresAt });
    watch.start();
    vi.advanceTimersByTime(4_999);
    expect(relay.ended).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(relay.ended?.error.sqlState).toBe('28000');
    expect(relay.ended?.error.message).toBe(`terminating connection: your client certificate expired at ${expiresAt.toISOString()}`);
  });

  it('does nothing once stopped', () => {
    const relay = new FakeRelay();
    const watch = new SessionWatch(relay, { idleTimeoutMs: 1_000, certificateExpiresAt: new Date(Date.now() + 2_000) });
    watch.start();
    watch.stop();
    vi.advanceTimersByTime(60_000);
    expect(relay.ended).toBeUndefined();
  });
});

describe('idleTimeoutMsFor', () => {
  const config = parseConfig(
    [
      'version: v1',
      'proxy: { client_idle_timeout: 30m }',
      'roles:',
      '  - name: plain',
      '  - name: off',
      '    options: { client_idle_timeout: 0 }',
      '  - name: long',
      '    options: { client_idle_timeout: 2h }',
      '  - name: short',
      '    options: { client_idle_timeout: 5m }',
      'users:',
      '  - { name: alice, roles: [plain, off] }',
      '  - { name: bob, roles: [long] }',
      '  - { name: carol, roles: [long, short] }',
    ].join('\n'),
    'gatehouse.yaml',
  );

  it('takes the smallest non-zero role value over the proxy-wide one, else the proxy-wide one', () => {
    expect(idleTimeoutMsFor(config, 'alice')).toBe(30 * 60_000);
    expect(idleTimeoutMsFor(config, 'bob')).toBe(2 * 3_600_000);
    expect(idleTimeoutMsFor(config, 'carol')).toBe(5 * 60_000);
    expect(idleTimeoutMsFor(config, 'nobody')).toBe(30 * 60_000);
  });
});
