import { describe, expect, it } from 'vitest';
import { describeSocketError } from '../../../src/proxy/socket-error-text.js';
import { classifyConnectError } from '../../../src/ssh/connect-failures.js';

const withLevel = (message: string, level?: string, code?: string) => Object.assign(new Error(message), { level, code });

describe('classifyConnectError', () => {
  it('reads ssh2\'s levels', () => {
    expect(classifyConnectError(withLevel('All configured authentication methods failed', 'client-authentication'), undefined, 1_000)).toEqual({ kind: 'auth' });
    expect(classifyConnectError(withLevel('Timed out while waiting for handshake', 'client-timeout'), undefined, 1_000)).toEqual({ kind: 'timeout', timeoutMs: 1_000 });
    expect(classifyConnectError(withLevel('connect ECONNREFUSED', 'client-socket', 'ECONNREFUSED'), undefined, 1_000)).toEqual({ kind: 'unreachable', reason: 'connection refused' });
    expect(classifyConnectError(withLevel('Handshake failed: no matching host key format', 'handshake'), undefined, 1_000)).toEqual({
      kind: 'handshake',
      reason: 'Handshake failed: no matching host key format',
    });
  });

  it('a host key the verifier refused is a host key failure, whatever ssh2 calls it', () => {
    const seen = { verdict: { kind: 'unknown' as const }, offeredType: 'ssh-ed25519', fingerprint: 'SHA256:abc' };
    expect(classifyConnectError(withLevel('Host denied (verification failed)', 'handshake'), seen, 1_000)).toEqual({
      kind: 'host-key',
      verdict: { kind: 'unknown' },
      offeredType: 'ssh-ed25519',
      fingerprint: 'SHA256:abc',
    });
    // A trusted key followed by a refused login is about the login.
    expect(classifyConnectError(withLevel('x', 'client-authentication'), { ...seen, verdict: { kind: 'trusted', line: 1 } }, 1_000)).toEqual({ kind: 'auth' });
  });
});

describe('describeSocketError', () => {
  it.each([
    ['ECONNREFUSED', 'connection refused'],
    ['ENOTFOUND', 'host name not found'],
    ['EHOSTUNREACH', 'no route to host'],
    ['ECONNRESET', 'connection reset'],
    ['ETIMEDOUT', 'connection timed out'],
  ])('%s reads as %s', (code, text) => {
    expect(describeSocketError(withLevel('raw', undefined, code))).toBe(text);
  });

  it('keeps any other message', () => {
    expect(describeSocketError(new Error('Keepalive timeout'))).toBe('Keepalive timeout');
  });
});
