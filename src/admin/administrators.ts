// Who may use the admin API: a user any of whose roles has `options: { admin: true }`. Decided
// against the configuration in force at each request, so taking the option away (and reloading)
// ends someone's administration at once.
import type { GatehouseConfig, UserConfig } from '../config/types.js';
import { rolesOf } from '../rbac/subject.js';

export function isAdministrator(config: GatehouseConfig, user: UserConfig): boolean {
  return rolesOf(config, user).some((role) => role.options.admin === true);
}
