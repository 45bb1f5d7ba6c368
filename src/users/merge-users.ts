// Joins the users file to gatehouse.yaml: the config the daemon decides with is gatehouse.yaml plus
// the stored users. gatehouse.yaml is what the operator reviews and deploys, so it wins: a stored
// record named like a gatehouse.yaml user only carries that user's login secrets (which live
// outside GatehouseConfig), never roles or traits. A stored user may name a role the config has
// since lost; that role is dropped, with a warning, rather than failing the whole directory.
import { deepFreeze } from '../config/freeze.js';
import type { GatehouseConfig, UserConfig } from '../config/types.js';
import type { StoredUser } from './users-file.js';

export interface MergedUsers {
  /** The config with the stored users appended to `users`, frozen like a loaded config. */
  readonly config: GatehouseConfig;
  /** One sentence per thing that was ignored, for the log or the CLI's stderr. */
  readonly warnings: string[];
}

export function withStoredUsers(config: GatehouseConfig, stored: readonly StoredUser[]): MergedUsers {
  const yamlNames = new Set(config.users.map((user) => user.name));
  const knownRoles = new Set(config.roles.map((role) => role.name));
  const warnings: string[] = [];
  const added: UserConfig[] = [];
  for (const user of stored) {
    if (yamlNames.has(user.name)) {
      if (user.roles.length > 0 || Object.keys(user.traits).length > 0) {
        warnings.push(`user ${JSON.stringify(user.name)} is defined in both ${config.source} and the users file; the roles and traits in ${config.source} apply`);
      }
      continue;
    }
    const roles = user.roles.filter((role) => knownRoles.has(role));
    for (const role of user.roles) {
      if (!knownRoles.has(role)) warnings.push(`user ${JSON.stringify(user.name)}: role ${JSON.stringify(role)} is not defined in ${config.source}; ignoring it`);
    }
    added.push({ name: user.name, roles, traits: cloneTraits(user.traits) });
  }
  if (added.length === 0) return { config, warnings };
  return { config: deepFreeze({ ...config, users: [...config.users, ...added] }) as GatehouseConfig, warnings };
}

/** Copies the traits so freezing the merged config never freezes the directory's own records. */
function cloneTraits(traits: Readonly<Record<string, readonly string[]>>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(traits).map(([key, values]) => [key, [...values]]));
}
