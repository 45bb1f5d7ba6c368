// May this Gatehouse user connect to this database as this db user and db name? Teleport's rules: at
// least one of the user's roles must allow all three at once, and no role may deny them; deny wins.
// Pure: everything comes from the config passed in, which is the one in force at connect time.
import type { GatehouseConfig, RoleConfig, UserConfig } from '../config/types.js';
import { allow, deny, type Decision } from './decision.js';
import { allowMatches, conditionValues, denyMatches, matchValue, type AccessRequest } from './match.js';
import { isDecision, noRoleForLabels, resolveSubject, rolesAllowingLabels } from './subject.js';

export type { Decision } from './decision.js';

export interface DecideRequest {
  /** The Gatehouse user, from the client certificate. */
  readonly user: string;
  /** The Gatehouse database name (not the Postgres database inside it). */
  readonly database: string;
  /** The Postgres role to log in as. */
  readonly dbUser: string;
  /** The Postgres database to open. */
  readonly dbName: string;
}

export function decide(config: GatehouseConfig, request: DecideRequest): Decision {
  const subject = resolveSubject(config, request.user, request.database);
  if (isDecision(subject)) return subject;
  const { user, roles, database } = subject;
  const access: AccessRequest = { database, dbUser: request.dbUser, dbName: request.dbName };
  const userText = `db user ${JSON.stringify(request.dbUser)}`;
  const nameText = `db name ${JSON.stringify(request.dbName)}`;
  const onDatabase = `on database ${JSON.stringify(database.name)}`;

  const denying = roles.find((role) => denyMatches(role.deny, user, access));
  if (denying !== undefined) return deny(`access to ${userText} ${onDatabase} denied for ${user.name}: denied by role ${denying.name}`);

  const granting = roles.find((role) => allowMatches(role.allow, user, access));
  if (granting !== undefined) {
    return allow(`access to ${userText} and ${nameText} ${onDatabase} allowed for ${user.name} by role ${granting.name}`);
  }

  // Nothing allows it: find the first condition no role gets past, to name the missing permission.
  const forDatabase = rolesAllowingLabels(roles, database);
  if (forDatabase.length === 0) return noRoleForLabels(subject);
  const forDbUser = forDatabase.filter((role) => matchValue(conditionValues(role.allow.db_users, user), request.dbUser));
  if (forDbUser.length === 0) {
    const allowed = listing(forDatabase, user, 'db_users');
    return deny(`access to ${userText} ${onDatabase} denied for ${user.name}: no role of ${user.name} allows ${userText} (allowed: ${allowed})`);
  }
  const allowed = listing(forDbUser, user, 'db_names');
  return deny(
    `access to ${nameText} as ${userText} ${onDatabase} denied for ${user.name}: no role of ${user.name} allows ${nameText} (allowed: ${allowed})`,
  );
}

/** What the roles do allow, trait templates filled in: "app_reader, app_writer", or "none". */
function listing(roles: readonly RoleConfig[], user: UserConfig, field: 'db_users' | 'db_names'): string {
  const values = new Set(roles.flatMap((role) => conditionValues(role.allow[field], user)));
  return values.size === 0 ? 'none' : [...values].join(', ');
}
