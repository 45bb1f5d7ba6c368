// Finding who and what a request is about (the user, their roles, the database) in the config, and
// the refusals when one of them does not exist. Shared by decide() and the database-level checks so
// that both word an unknown user or database, and a label mismatch, the same way.
import type { DatabaseConfig, GatehouseConfig, RoleConfig, UserConfig } from '../config/types.js';
import { deny, type Decision } from './decision.js';
import { formatLabels, matchLabels } from './match.js';

export interface Subject {
  readonly user: UserConfig;
  /** The user's roles in the order the user lists them; names that match no role are skipped. */
  readonly roles: readonly RoleConfig[];
  readonly database: DatabaseConfig;
}

export function findUser(config: GatehouseConfig, name: string): UserConfig | undefined {
  return config.users.find((user) => user.name === name);
}

export function rolesOf(config: GatehouseConfig, user: UserConfig): RoleConfig[] {
  return user.roles.flatMap((name) => config.roles.filter((role) => role.name === name).slice(0, 1));
}

/** The user's roles whose allow block selects this database by its labels. */
export function rolesAllowingLabels(roles: readonly RoleConfig[], database: DatabaseConfig): RoleConfig[] {
  return roles.filter((role) => role.allow.db_labels !== undefined && matchLabels(role.allow.db_labels, database.labels));
}

/** The subject of a request, or the refusal when the user or the database is not in the config. */
export function resolveSubject(config: GatehouseConfig, userName: string, databaseName: string): Subject | Decision {
  const prefix = `access to database ${JSON.stringify(databaseName)} denied for ${userName}`;
  const user = findUser(config, userName);
  if (user === undefined) return deny(`${prefix}: the user ${userName} is not known to Gatehouse`);
  const database = config.databases.find((candidate) => candidate.name === databaseName);
  if (database === undefined) return deny(`${prefix}: Gatehouse has no database named ${JSON.stringify(databaseName)}`);
  return { user, roles: rolesOf(config, user), database };
}

export function isDecision(value: Subject | Decision): value is Decision {
  return 'allowed' in value;
}

/** Why no role selects the database: the user's roles, and the labels they would need to allow. */
export function noRoleForLabels(subject: Subject): Decision {
  const { user, roles, database } = subject;
  const prefix = `access to database ${JSON.stringify(database.name)} denied for ${user.name}`;
  if (roles.length === 0) return deny(`${prefix}: ${user.name} has no roles`);
  const labels = Object.keys(database.labels).length === 0 ? 'databases without labels' : `databases with labels ${formatLabels(database.labels)}`;
  return deny(`${prefix}: none of ${user.name}'s roles (${roles.map((role) => role.name).join(', ')}) allow ${labels}`);
}
