// How long a certificate issued to a user may live: the strictest of the user's roles decides, and
// Gatehouse never issues one longer than 12 hours.
import { MAX_SESSION_TTL_MS } from '../config/defaults.js';
import type { GatehouseConfig } from '../config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { findUser, rolesOf } from './subject.js';

export { MAX_SESSION_TTL_MS } from '../config/defaults.js';

/** The shortest max_session_ttl among the user's roles, capped at 12h. Throws for a user not in the config. */
export function maxSessionTtlMs(config: GatehouseConfig, user: string): number {
  const found = findUser(config, user);
  if (found === undefined) {
    throw new GatehouseError(ErrorCodes.UNKNOWN_USER, `the user ${user} is not known to Gatehouse`, {
      sqlState: SqlState.INVALID_AUTHORIZATION,
    });
  }
  return rolesOf(config, found).reduce((shortest, role) => Math.min(shortest, role.options.max_session_ttl_ms), MAX_SESSION_TTL_MS);
}
