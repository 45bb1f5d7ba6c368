// The audit trail's vocabulary: who opened which session, what they ran, and how it ended.
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

export interface AuditLog {
  session(context: SessionContext): SessionAudit;
  denied(record: SessionDeniedRecord): void;
  /** Flush buffered events; called on shutdown so the trail loses nothing. */
  close(): Promise<void>;
}
