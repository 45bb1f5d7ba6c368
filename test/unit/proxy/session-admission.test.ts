// SessionAdmission: the draining refusal, proxy-wide and per-user limits, release and the drain wait.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { SessionAdmission, userConnectionLimit } from '../../../src/proxy/session-admission.js';
import { GatehouseError } from '../../../src/errors.js';

const config = parseConfig(
  [
    'version: v1',
    'proxy: { max_connections: 3 }',
    'roles:',
    '  - name: open',
    '  - name: five',
    '    options: { max_connections: 5 }',
    '  - name: two',
    '    options: { max_connections: 2 }',
    'users:',
    '  - { name: alice, roles: [open] }',
    '  - { name: bob, roles: [five, two, open] }',
  ].join('\n'),
  'gatehouse.yaml',
);

function refusal(run: () => unknown): GatehouseError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatehouseError) return error;
    throw error;
  }
  throw new Error('admitted, but should have been refused');
}

describe('userConnectionLimit', () => {
  it('is the smallest max_connections among the user\'s roles, or none', () => {
    expect(userConnectionLimit(config, 'bob')).toEqual({ limit: 2, role: 'two' });
    expect(userConnectionLimit(config, 'alice')).toBeUndefined();
    expect(userConnectionLimit(config, 'nobody')).toBeUndefined();
  });
});

describe('SessionAdmission', () => {
  it('refuses a user past their limit with 53300 and admits again after a release', () => {
    const admission = new SessionAdmission();
    const first = admission.admit('bob', config);
    admission.admit('bob', config);
    const error = refusal(() => admission.admit('bob', config));
    expect(error.sqlState).toBe('53300');
    expect(error.message).toBe('too many connections for user bob: 2 sessions open, the limit is 2 (max_connections of role "two")');
    first();
    first(); // releasing twice counts once
    expect(admission.sessionsOf('bob')).toBe(1);
    admission.admit('bob', config);
  });

  it('refuses anyone past proxy.max_connections with 53300', () => {
    const admission = new SessionAdmission();
    for (let i = 0; i < 3; i++) admission.admit('alice', config);
    const error = refusal(() => admission.admit('alice', config));
    expect(error.sqlState).toBe('53300');
    expect(error.message).toBe('too many connections: Gatehouse already serves 3 sessions, its limit (proxy.max_connections) is 3');
  });

  it('refuses every new session with 57P01 once draining', () => {
    const admission = new SessionAdmission();
    admission.startDraining();
    const error = refusal(() => admission.refuseIfDraining());
    expect(error.sqlState).toBe('57P01');
    expect(error.message).toBe('Gatehouse is shutting down; reconnect in a moment');
    expect(refusal(() => admission.admit('alice', config)).sqlState).toBe('57P01');
  });

  it('whenEmpty resolves true when the last session ends, false on grace 0 or an interrupt', async () => {
    const admission = new SessionAdmission();
    expect(await admission.whenEmpty(0)).toBe(true);
    const release = admission.admit('alice', config);
    expect(await admission.whenEmpty(0)).toBe(false);
    const waiting = admission.whenEmpty(60_000);
    release();
    expect(await waiting).toBe(true);
    admission.admit('alice', config);
    const interrupt = new AbortController();
    const interrupted = admission.whenEmpty(60_000, interrupt.signal);
    interrupt.abort();
    expect(await interrupted).toBe(false);
  });
});
