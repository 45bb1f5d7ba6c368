import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { ErrorCodes, GatehouseError } from '../../../src/errors.js';
import { MAX_SESSION_TTL_MS, maxSessionTtlMs } from '../../../src/rbac/session-ttl.js';
import { rbacConfig } from './rbac-config.js';

const HOUR = 3_600_000;
const config = rbacConfig();

describe('maxSessionTtlMs', () => {
  it('is the shortest max_session_ttl of the user roles', () => {
    expect(maxSessionTtlMs(config, 'alice')).toBe(8 * HOUR);
    expect(maxSessionTtlMs(config, 'bob')).toBe(1 * HOUR); // access 8h, readonly-prod 1h
  });

  it('is 12h for roles that do not set one, and for a user without roles', () => {
    expect(MAX_SESSION_TTL_MS).toBe(12 * HOUR);
    expect(maxSessionTtlMs(config, 'root')).toBe(12 * HOUR);
    expect(maxSessionTtlMs(config, 'gina')).toBe(12 * HOUR);
  });

  it('never exceeds 12h even if a config object carries more', () => {
    const loaded = parseConfig('version: v1\nroles: [{ name: r }]\nusers: [{ name: u, roles: [r] }]\n', 'g.yaml');
    const role = loaded.roles[0];
    if (role === undefined) throw new Error('fixture has a role');
    const stretched = { ...loaded, roles: [{ ...role, options: { max_session_ttl_ms: 48 * HOUR } }] };
    expect(maxSessionTtlMs(stretched, 'u')).toBe(12 * HOUR);
  });

  it('refuses a user Gatehouse does not know', () => {
    let error: unknown;
    try {
      maxSessionTtlMs(config, 'mallory');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe(ErrorCodes.UNKNOWN_USER);
    expect((error as GatehouseError).sqlState).toBe('28000');
    expect((error as GatehouseError).message).toBe('the user mallory is not known to Gatehouse');
  });
});
