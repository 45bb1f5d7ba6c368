// POST /v1/admin/reload: what SIGHUP does, for an administrator who is not on the daemon's host:
// gatehouse.yaml and the users file are read again. A config that does not validate changes
// nothing and comes back as 422 with one FILE:LINE:COL line per problem; a valid one applies to new
// connections at once, running sessions it no longer allows are ended, and keys that need a
// restart come back as warnings.
import { ErrorCodes } from '../errors.js';
import { adminRoute, type AdminApiOptions } from './admin-routes.js';
import { ApiError, badRequest } from './api-errors.js';
import type { ApiRoute } from './web-server.js';

export function reloadRoute(options: AdminApiOptions): ApiRoute {
  return adminRoute(options.audit, {
    method: 'POST',
    path: '/v1/admin/reload',
    action: 'reload',
    handle: async (request) => {
      if (Object.keys(request.body).length > 0) throw badRequest('this request takes no fields; send an empty JSON object, {}');
      const outcome = await options.reload();
      if (!outcome.ok) {
        const count = outcome.errors.length;
        throw new ApiError(422, ErrorCodes.CONFIG_INVALID, `the configuration was not reloaded: it has ${count} problem${count === 1 ? '' : 's'}; the configuration in force is unchanged`, {
          hint: 'fix the lines listed in "errors" (gatehouse config check shows the same), then reload again',
          extra: { errors: outcome.errors },
        });
      }
      return {
        status: 200,
        body: {
          reloaded: true,
          warnings: outcome.warnings,
          sessions_ended: outcome.sessionsEnded.map((ended) => ({ id: ended.id, user: ended.user, reason: ended.reason })),
        },
      };
    },
  });
}
