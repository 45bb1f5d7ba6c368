// GET /v1/databases and GET /v1/me, for a caller holding a dbctl identity certificate: what dbctl ls
// and dbctl status show. Both read the configuration in force now, so a role or users file changed
// since login shows at once.
import type { GatehouseConfig } from '../config/types.js';
import { databasesForUser } from '../rbac/database-listing.js';
import type { CallerIdentity } from './client-identity.js';
import type { ApiRoute } from './web-server.js';

export function databasesRoute(config: () => GatehouseConfig): ApiRoute {
  return {
    method: 'GET',
    path: '/v1/databases',
    auth: 'identity',
    handle: (request) => ({ status: 200, body: { databases: databasesForUser(config(), (request.caller as CallerIdentity).user.name) } }),
  };
}

export function meRoute(): ApiRoute {
  return {
    method: 'GET',
    path: '/v1/me',
    auth: 'identity',
    handle: (request) => {
      const caller = request.caller as CallerIdentity;
      return { status: 200, body: { user: caller.user.name, roles: [...caller.user.roles], expires_at: caller.notAfter.toISOString() } };
    },
  };
}
