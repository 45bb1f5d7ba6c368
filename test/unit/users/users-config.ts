// A small gatehouse.yaml for the users tests, parsed the real way: roles access (dev databases) and
// admin, and alice defined in the file.
import { parseConfig } from '../../../src/config/load.js';
import type { GatehouseConfig } from '../../../src/config/types.js';
import type { StoredUser } from '../../../src/users/users-file.js';

export function usersTestConfig(): GatehouseConfig {
  return parseConfig(
    `version: v1
proxy:
  data_dir: /tmp/gatehouse-users-test
databases:
  - name: local
    uri: 127.0.0.1:5433
    labels: { env: dev }
roles:
  - name: access
    allow:
      db_labels: { env: [dev] }
      db_users: ["{{internal.db_users}}"]
      db_names: ["*"]
  - name: admin
    allow:
      db_labels: { "*": ["*"] }
      db_users: ["*"]
      db_names: ["*"]
users:
  - name: alice
    roles: [access]
    traits: { db_users: [app_reader] }
`,
    'gatehouse.yaml',
    { cwd: '/etc/gatehouse' },
  );
}

export function storedUser(name: string, fields: Partial<StoredUser> = {}): StoredUser {
  return { name, roles: [], traits: {}, created_at: '2024-05-01T12:00:00.000Z', updated_at: '2024-05-01T12:00:00.000Z', ...fields };
}
