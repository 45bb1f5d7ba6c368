// What a user may use, as dbctl ls shows it: every database some role of the user selects by its
// labels (and no deny shuts entirely), with the db users and db names the roles allow there.
// It is a guide for the person choosing, not a decision: decide() still has the last word at
// connect time, so "*" stays "*" and a deny that only narrows a wildcard is not spelled out.
import type { DatabaseConfig, GatehouseConfig, RoleConfig, UserConfig } from '../config/types.js';
import { canEverAccessDatabase } from './database-access.js';
import { conditionValues, denyMatches } from './match.js';
import { findUser, rolesAllowingLabels, rolesOf } from './subject.js';

export interface DatabaseListing {
  readonly name: string;
  readonly description: string;
  readonly protocol: DatabaseConfig['protocol'];
  readonly labels: Readonly<Record<string, string>>;
  /** Allowed db users, traits expanded, deduplicated and sorted, minus those a deny names outright. */
  readonly db_users: readonly string[];
  /** Allowed db names, likewise. */
  readonly db_names: readonly string[];
}

/** The databases `user` may use, sorted by name; empty for a user Gatehouse does not know. */
export function databasesForUser(config: GatehouseConfig, userName: string): DatabaseListing[] {
  const user = findUser(config, userName);
  if (user === undefined) return [];
  const roles = rolesOf(config, user);
  return config.databases
    .filter((database) => canEverAccessDatabase(config, user.name, database.name).allowed)
    .map((database) => listing(database, user, roles))
    .sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
}

function listing(database: DatabaseConfig, user: UserConfig, roles: readonly RoleConfig[]): DatabaseListing {
  const granting = rolesAllowingLabels(roles, database);
  return {
    name: database.name,
    description: database.description,
    protocol: database.protocol,
    labels: { ...database.labels },
    db_users: allowedValues(granting, user, 'db_users').filter((dbUser) => !roles.some((role) => denyMatches(role.deny, user, { database, dbUser }))),
    db_names: allowedValues(granting, user, 'db_names').filter((dbName) => !roles.some((role) => denyMatches(role.deny, user, { database, dbName }))),
  };
}

/** The allow values of these roles, templates filled in, deduplicated and sorted. */
function allowedValues(roles: readonly RoleConfig[], user: UserConfig, field: 'db_users' | 'db_names'): string[] {
  return [...new Set(roles.flatMap((role) => conditionValues(role.allow[field], user)))].sort();
}
