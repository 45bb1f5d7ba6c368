// The config the RBAC tests decide against (test/fixtures/config/rbac.yaml), loaded the real way.
import { loadConfigFile } from '../../../src/config/load.js';
import type { GatehouseConfig } from '../../../src/config/types.js';

export function rbacConfig(): GatehouseConfig {
  return loadConfigFile('test/fixtures/config/rbac.yaml');
}
