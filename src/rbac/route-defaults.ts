// May a database certificate carry this default db user and/or db name? Asked when the web API
// issues one, so that a default no role allows is refused at once, with the reason, instead of
// at every connection later. With both given this is decide(); with one, the other is left open
// (the client may still name it), so only rules about the given one can refuse.
import type { GatehouseConfig, RoleConfig, UserConfig } from '../config/types.js';
import { decide } from './decide.js';
import { allow, deny, type Decision } from './decision.js';
import { conditionValues, denyMatches, matchValue } from './match.js';
import { isDecision, noRoleForLabels, resolveSubject, rolesAllowingLabels } from './subject.js';

export interface RouteDefaults {
  readonly user: string;
  readonly database: string;
  readonly dbUser?: string;
  readonly dbName?: string;
}

export function checkRouteDefaults(config: GatehouseConfig, request: RouteDefaults): Decision {
  const { dbUser, dbName } = request;
  if (dbUser !== undefined && dbName !== undefined) return decide(config, { user: request.user, database: request.database, dbUser, dbName });
  const subject = resolveSubject(config, request.user, request.database);
  if (isDecision(subject)) return subject;
  const { user, roles, database } = subject;
  const onDatabase = `on database ${JSON.stringify(database.name)}`;
  const forDatabase = rolesAllowingLabels(roles, database);
  if (forDatabase.length === 0) return noRoleForLabels(subject);
  if (dbUser === undefined && dbName === undefined) return allow(`access to database ${JSON.stringify(database.name)} allowed for ${user.name} by role ${(forDatabase[0] as RoleConfig).name}`);
  const [field, value, what] = dbUser !== undefined ? (['db_users', dbUser, 'db user'] as const) : (['db_names', dbName as string, 'db name'] as const);
  const valueText = `${what} ${JSON.stringify(value)}`;
  const access = field === 'db_users' ? { database, dbUser: value } : { database, dbName: value };
  const denying = roles.find((role) => denyMatches(role.deny, user, access));
  if (denying !== undefined) return deny(`access to ${valueText} ${onDatabase} denied for ${user.name}: denied by role ${denying.name}`);
  const granting = forDatabase.find((role) => matchValue(conditionValues(role.allow[field], user), value));
  if (granting !== undefined) return allow(`access to ${valueText} ${onDatabase} allowed for ${user.name} by role ${granting.name}`);
  return deny(`access to ${valueText} ${onDatabase} denied for ${user.name}: no role of ${user.name} allows ${valueText} (allowed: ${listing(forDatabase, user, field)})`);
}

/** "app_reader, app_writer", or "none", as decide() words it. */
function listing(roles: readonly RoleConfig[], user: UserConfig, field: 'db_users' | 'db_names'): string {
  const values = new Set(roles.flatMap((role) => conditionValues(role.allow[field], user)));
  return values.size === 0 ? 'none' : [...values].join(', ');
}
