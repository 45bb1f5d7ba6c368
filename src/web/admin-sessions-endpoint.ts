// GET /v1/admin/sessions and POST /v1/admin/sessions/kill: the running sessions (those past
// authorization; a connection still in its TLS handshake or startup is nobody's session yet) and
// ending one at once. The killed session's client gets FATAL 57P01 "ended by Gatehouse
// administrator <admin>: <reason>", and its session.end audit event carries the same reason
// (src/admin/session-directory.ts).
import { ErrorCodes } from '../errors.js';
import { adminRoute, bodyText, type AdminApiOptions } from './admin-routes.js';
import { ApiError } from './api-errors.js';
import { certificateText, onlyFields, optionalString, requiredString } from './request-fields.js';
import type { ApiRoute } from './web-server.js';

export function sessionsRoute(options: AdminApiOptions): ApiRoute {
  return adminRoute(options.audit, {
    method: 'GET',
    path: '/v1/admin/sessions',
    action: 'sessions.list',
    handle: async () => ({ status: 200, body: { sessions: await options.sessions.list() } }),
  });
}

export function killSessionRoute(options: AdminApiOptions): ApiRoute {
  return adminRoute(options.audit, {
    method: 'POST',
    path: '/v1/admin/sessions/kill',
    action: 'sessions.kill',
    subject: (body) => ({ target: bodyText(body, 'id'), reason: bodyText(body, 'reason') }),
    handle: async (request) => {
      onlyFields(request.body, ['id', 'reason']);
      const id = requiredString(request.body, 'id');
      const reasonText = optionalString(request.body, 'reason');
      const reason = reasonText === undefined ? undefined : certificateText('reason', reasonText);
      const killed = await options.sessions.kill(id, request.caller.user.name, reason);
      if (killed === undefined) {
        throw new ApiError(404, ErrorCodes.UNKNOWN_SESSION, `no running session has the id ${JSON.stringify(id)}`, {
          hint: 'list the running sessions with "gatehouse sessions ls"; the session may have ended already',
        });
      }
      return { status: 200, body: { killed } };
    },
  });
}
