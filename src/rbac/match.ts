// The matching rules of Teleport's role conditions: label selectors against a database's labels,
// and db user / db name lists (after trait expansion) against a requested value, with '*' wildcards.
import type { DatabaseConfig, RoleConditions, UserConfig } from '../config/types.js';
import { expandTraits } from './traits.js';

export const WILDCARD = '*';

/**
 * True when every key of the selector is satisfied by the labels: the database has that label with
 * one of the listed values (or '*'). `'*': ['*']` matches every database. An empty selector matches
 * no database: a role must say which databases it is about.
 */
export function matchLabels(selector: Readonly<Record<string, readonly string[]>>, labels: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  return keys.every((key) => {
    const values = selector[key] ?? [];
    if (key === WILDCARD) return values.includes(WILDCARD);
    if (!Object.hasOwn(labels, key)) return false;
    const actual = labels[key];
    return values.includes(WILDCARD) || (actual !== undefined && values.includes(actual));
  });
}

/** True when `value` is in the list or the list holds '*'. */
export function matchValue(allowed: readonly string[], value: string): boolean {
  return allowed.includes(WILDCARD) || allowed.includes(value);
}

/** A role's db_users or db_names for this user, templates filled in from the user's traits. */
export function conditionValues(values: readonly string[] | undefined, user: UserConfig): string[] {
  return values === undefined ? [] : expandTraits(values, user.traits);
}

export interface AccessRequest {
  readonly database: DatabaseConfig;
  readonly dbUser: string;
  readonly dbName: string;
}

/** Does this allow block grant all three of database (by labels), db user and db name? */
export function allowMatches(conditions: RoleConditions, user: UserConfig, request: AccessRequest): boolean {
  return (
    matchLabels(conditions.db_labels ?? {}, request.database.labels) &&
    matchValue(conditionValues(conditions.db_users, user), request.dbUser) &&
    matchValue(conditionValues(conditions.db_names, user), request.dbName)
  );
}

/**
 * Does this deny block apply? Each condition it specifies must match; a condition it leaves out
 * matches anything, so `deny: { db_users: [postgres] }` refuses postgres on every database. A deny
 * that specifies nothing (the default `deny: {}`) refuses nothing.
 */
export function denyMatches(conditions: RoleConditions, user: UserConfig, request: Partial<AccessRequest> & Pick<AccessRequest, 'database'>): boolean {
  const { db_labels: labels, db_users: users, db_names: names } = conditions;
  if (labels === undefined && users === undefined && names === undefined) return false;
  if (labels !== undefined && !matchLabels(labels, request.database.labels)) return false;
  if (users !== undefined && !matchOrWildcard(conditionValues(users, user), request.dbUser)) return false;
  if (names !== undefined && !matchOrWildcard(conditionValues(names, user), request.dbName)) return false;
  return true;
}

/** With no value asked about (a whole-database question), only a '*' list covers everything. */
function matchOrWildcard(values: readonly string[], value: string | undefined): boolean {
  return value === undefined ? values.includes(WILDCARD) : matchValue(values, value);
}

/** env=prod, team=payments (sorted, so the sentence does not depend on YAML order). */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key] ?? ''}`)
    .join(', ');
}
