// Database-level questions asked before any db user or db name is known: which databases to list for
// a user, and whether to issue a certificate for one. Labels decide, and a deny that shuts the user out
// of the whole database (no db user or db name left open) is honoured. decide() has the last word at
// connect time.
import type { GatehouseConfig, RoleConfig } from '../config/types.js';
import { allow, deny, type Decision } from './decision.js';
import { denyMatches } from './match.js';
import { isDecision, noRoleForLabels, resolveSubject, rolesAllowingLabels } from './subject.js';

/** The user's roles whose allow selects the database by its labels; empty for an unknown user or database. */
export function rolesMatchingDatabase(config: GatehouseConfig, user: string, database: string): readonly RoleConfig[] {
  const subject = resolveSubject(config, user, database);
  return isDecision(subject) ? [] : rolesAllowingLabels(subject.roles, subject.database);
}

/** Could this user ever connect to this database, whatever db user and db name they pick? */
export function canEverAccessDatabase(config: GatehouseConfig, user: string, database: string): Decision {
  const subject = resolveSubject(config, user, database);
  if (isDecision(subject)) return subject;
  const onDatabase = `database ${JSON.stringify(subject.database.name)}`;
  const denying = subject.roles.find((role) => denyMatches(role.deny, subject.user, { database: subject.database }));
  if (denying !== undefined) return deny(`access to ${onDatabase} denied for ${subject.user.name}: denied by role ${denying.name}`);
  const granting = rolesAllowingLabels(subject.roles, subject.database)[0];
  if (granting === undefined) return noRoleForLabels(subject);
  return allow(`access to ${onDatabase} allowed for ${subject.user.name} by role ${granting.name}`);
}
