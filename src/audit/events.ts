// The audit trail's vocabulary: who opened which session, what they ran, and how it ended; who
// logged in to the web API and which certificates it issued.
// These records are an interface for security teams and SIEM pipelines: add fields, never rename.

export interface SessionContext {
  readonly session_id: string;
  readonly user: string;
  readonly database: string;
  readonly db_user: string;
  readonly db_name: string;
  readonly client_addr: string;
}

/** What the client asked the database to do, decoded from the audited frontend messages. */
export interface QueryRecord {
  /** query | parse | bind | execute | close | function-call */
  readonly message: string;
  readonly query?: string;
  readonly statement?: string;
  readonly portal?: string;
  readonly parameters?: readonly (string | null)[];
  readonly truncated?: boolean;
}

export interface SessionEndRecord {
  readonly reason: string;
  readonly duration_ms: number;
  readonly bytes_from_client: number;
  readonly bytes_to_client: number;
  /** SQLSTATE Gatehouse sent when it ended the session itself. */
  readonly sqlstate?: string;
}

/** A refused connection, at whatever step it was refused: the fields known by then. */
export interface SessionDeniedRecord {
  readonly session_id: string;
  readonly client_addr: string;
  readonly user?: string;
  readonly database?: string;
  readonly db_user?: string;
  readonly db_name?: string;
  readonly reason: string;
  readonly code: string;
  readonly sqlstate: string;
}

/** One session's audit stream; created once the session is identified and authorized. */
export interface SessionAudit {
  started(upstreamUser: string): void;
  query(record: QueryRecord): void;
  ended(record: SessionEndRecord): void;
}

/** One login attempt at the web API (`auth.login`), successful or not. Never a password or code. */
export interface LoginRecord {
  readonly user: string;
  readonly client_addr: string;
  readonly success: boolean;
  /** Why it failed (unknown user, wrong password, …); for the audit trail only, never sent to the client. */
  readonly reason?: string;
  /** True when a TOTP code was checked as part of this login. */
  readonly mfa: boolean;
}

/** A certificate the web API signed (`cert.issued`). Never a key. */
export interface CertIssuedRecord {
  readonly user: string;
  readonly kind: 'identity' | 'database';
  readonly database?: string;
  readonly db_user?: string;
  readonly db_name?: string;
  /** Upper-case hex, as OpenSSL prints it. */
  readonly serial: string;
  /** ISO-8601. */
  readonly expires_at: string;
  readonly client_addr: string;
}

/**
 * One administrator action (`admin.action`): an admin API call (status, sessions, locks, reload),
 * allowed or refused, or a reload by SIGHUP (user "(SIGHUP)", client_addr "local").
 */
export interface AdminActionRecord {
  /** The caller's Gatehouse user. */
  readonly user: string;
  /** status | sessions.list | sessions.kill | locks.list | locks.add | locks.remove | reload */
  readonly action: string;
  /** What the action was about: a session id, a lock id, or the locked user (and database). */
  readonly target?: string;
  /** The reason the administrator gave (kill, lock). */
  readonly reason?: string;
  readonly client_addr: string;
  readonly success: boolean;
  /** Why it was refused or failed (the message the caller got). */
  readonly error?: string;
}

export interface AuditLog {
  session(context: SessionContext): SessionAudit;
  denied(record: SessionDeniedRecord): void;
  login(record: LoginRecord): void;
  certIssued(record: CertIssuedRecord): void;
  admin(record: AdminActionRecord): void;
  /** Flush buffered events; called on shutdown so the trail loses nothing. */
  close(): Promise<void>;
}
