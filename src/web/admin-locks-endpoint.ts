// GET /v1/admin/locks, POST /v1/admin/locks and POST /v1/admin/locks/remove: the locks in force,
// adding one, lifting one. A new lock ends the matching running sessions at once (28000
// GH_ERR_LOCKED with the lock's reason) and refuses new ones until it expires or is removed; it is
// written to <data_dir>/locks.yaml, so every Gatehouse sharing that directory enforces it.
import { parseDuration } from '../config/duration.js';
import { ErrorCodes, GatehouseError } from '../errors.js';
import type { Lock } from '../admin/locks-file.js';
import { findUser } from '../rbac/subject.js';
import { adminRoute, bodyText, type AdminApiOptions } from './admin-routes.js';
import { ApiError, badRequest } from './api-errors.js';
import { certificateText, onlyFields, optionalString, requiredString } from './request-fields.js';
import type { ApiRoute } from './web-server.js';

/** Longer than this is a typo for something else; a lock meant to last has no ttl. */
const MAX_LOCK_TTL_MS = 10 * 365 * 24 * 3_600_000;

export function lockRoutes(options: AdminApiOptions): ApiRoute[] {
  return [
    adminRoute(options.audit, {
      method: 'GET',
      path: '/v1/admin/locks',
      action: 'locks.list',
      handle: () => ({ status: 200, body: { locks: options.locks.active() } }),
    }),
    adminRoute(options.audit, {
      method: 'POST',
      path: '/v1/admin/locks',
      action: 'locks.add',
      subject: (body) => {
        const user = bodyText(body, 'user');
        const database = bodyText(body, 'database');
        return { target: user === undefined ? undefined : database === undefined ? user : `${user} on database ${database}`, reason: bodyText(body, 'reason') };
      },
      handle: async (request) => {
        const { body } = request;
        onlyFields(body, ['user', 'database', 'ttl', 'reason']);
        const user = certificateText('user', requiredString(body, 'user'));
        const databaseText = optionalString(body, 'database');
        const database = databaseText === undefined ? undefined : certificateText('database', databaseText);
        const ttlText = optionalString(body, 'ttl');
        const ttlMs = ttlText === undefined ? undefined : lockTtl(ttlText);
        const reason = certificateText('reason', requiredString(body, 'reason'));
        const config = options.config();
        if (findUser(config, user) === undefined) {
          throw new ApiError(404, ErrorCodes.UNKNOWN_USER, `Gatehouse has no user named ${JSON.stringify(user)}`, {
            hint: 'check the name with "gatehouse users ls"; a lock names a Gatehouse user, not a database user',
          });
        }
        if (database !== undefined && !config.databases.some((candidate) => candidate.name === database)) {
          throw new ApiError(404, ErrorCodes.UNKNOWN_DATABASE, `Gatehouse has no database named ${JSON.stringify(database)}`, {
            hint: `databases: ${config.databases.map((candidate) => candidate.name).join(', ') || 'none'}`,
          });
        }
        const lock = changeLocks(() =>
          options.locks.add({ user, ...(database === undefined ? {} : { database }), ...(ttlMs === undefined ? {} : { ttlMs }), reason, createdBy: request.caller.user.name }),
        );
        const ended = await options.enforce();
        return { status: 200, body: { lock, sessions_ended: ended.length } };
      },
    }),
    adminRoute(options.audit, {
      method: 'POST',
      path: '/v1/admin/locks/remove',
      action: 'locks.remove',
      subject: (body) => ({ target: bodyText(body, 'id') }),
      handle: (request) => {
        onlyFields(request.body, ['id']);
        const id = requiredString(request.body, 'id');
        const removed = changeLocks(() => options.locks.remove(id));
        if (removed === undefined) {
          throw new ApiError(404, ErrorCodes.UNKNOWN_LOCK, `no lock in force has the id ${JSON.stringify(id)}`, {
            hint: 'list the locks with "gatehouse locks ls"; the lock may have expired or been removed already',
          });
        }
        return { status: 200, body: { removed } };
      },
    }),
  ];
}

function lockTtl(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    throw badRequest(`the field "ttl" is not a duration: ${(error as Error).message}`);
  }
  if (ms <= 0) throw badRequest('the field "ttl" must be longer than 0; leave it out for a lock that lasts until it is removed');
  if (ms > MAX_LOCK_TTL_MS) throw badRequest('the field "ttl" is longer than 87600h (ten years); leave it out for a lock that lasts until it is removed');
  return ms;
}

/** A locks file that does not read is not overwritten: 409 with what is wrong with it; one held by another change too long: 503. */
function changeLocks<T extends Lock | undefined>(change: () => T): T {
  try {
    return change();
  } catch (error) {
    if (error instanceof GatehouseError && error.code === ErrorCodes.CONFIG_INVALID) throw new ApiError(409, ErrorCodes.CONFIG_INVALID, error.message, error.hint === undefined ? {} : { hint: error.hint });
    if (error instanceof GatehouseError && error.code === ErrorCodes.FILE_BUSY) throw new ApiError(503, ErrorCodes.FILE_BUSY, error.message, error.hint === undefined ? {} : { hint: error.hint });
    throw error;
  }
}
