// The running sessions as administrators see them (gatehouse sessions ls/kill): those past
// authorization and not already ending, oldest first, and ending one at once with FATAL 57P01
// "ended by Gatehouse administrator <admin>: <reason>" (PostgreSQL's pg_terminate_backend SQLSTATE).
// The admin API asks a SessionDirectory, which may answer asynchronously: LocalSessions answers for
// this process; a multi-process Gatehouse can put one in front that asks every worker.
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import type { RecheckableSession } from './session-recheck.js';

/** A running session as the admin API reads it (proxy/session.ts's Session has all of it). */
export interface AdminSession extends RecheckableSession {
  readonly clientAddress: string;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
}

export interface SessionView {
  readonly id: string;
  readonly user: string;
  readonly database: string;
  readonly db_user: string;
  readonly db_name: string;
  readonly client_addr: string;
  /** ISO-8601. */
  readonly started_at: string;
  readonly bytes_from_client: number;
  readonly bytes_to_client: number;
}

export interface SessionDirectory {
  list(): Promise<SessionView[]>;
  /** Ends the session with this id; undefined when no listed session has it. */
  kill(id: string, admin: string, reason: string | undefined): Promise<SessionView | undefined>;
}

type ListedSession = AdminSession & { readonly user: string; readonly databaseName: string; readonly dbUser: string; readonly dbName: string };

export class LocalSessions implements SessionDirectory {
  constructor(private readonly sessions: () => Iterable<AdminSession>) {}

  list(): Promise<SessionView[]> {
    return Promise.resolve(this.listed().map(sessionView));
  }

  kill(id: string, admin: string, reason: string | undefined): Promise<SessionView | undefined> {
    const session = this.listed().find((candidate) => candidate.id === id);
    if (session === undefined) return Promise.resolve(undefined);
    const view = sessionView(session);
    const { error, endReason } = killedBy(admin, reason);
    session.terminate(error, endReason);
    return Promise.resolve(view);
  }

  private listed(): ListedSession[] {
    const listed: ListedSession[] = [];
    for (const session of this.sessions()) {
      if (session.terminating || session.user === undefined || session.databaseName === undefined || session.dbUser === undefined || session.dbName === undefined) continue;
      listed.push(session as ListedSession);
    }
    return listed.sort((a, b) => a.startedAt - b.startedAt);
  }
}

/** What the client of a killed session is told, and its session.end reason. */
export function killedBy(admin: string, reason: string | undefined): { error: GatehouseError; endReason: string } {
  const why = reason === undefined ? '' : `: ${reason}`;
  return {
    error: new GatehouseError(ErrorCodes.SESSION_KILLED, `ended by Gatehouse administrator ${admin}${why}`, {
      sqlState: SqlState.ADMIN_SHUTDOWN,
      hint: 'Reconnect if you still need the database, or ask the Gatehouse administrator why.',
    }),
    endReason: `killed by Gatehouse administrator ${admin}${why}`,
  };
}

function sessionView(session: ListedSession): SessionView {
  return {
    id: session.id,
    user: session.user,
    database: session.databaseName,
    db_user: session.dbUser,
    db_name: session.dbName,
    client_addr: session.clientAddress,
    started_at: new Date(session.startedAt).toISOString(),
    bytes_from_client: session.bytesFromClient,
    bytes_to_client: session.bytesToClient,
  };
}
