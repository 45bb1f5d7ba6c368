// Errors that Gatehouse raises on purpose. Each carries a stable internal code (for logs, metrics
// and tests) and the SQLSTATE a Postgres client sees when the error ends a session. The message is
// written for the person at the client: what happened and what to do about it.

export const ErrorCodes = {
  CONFIG_INVALID: 'GH_ERR_CONFIG_INVALID',
  /** A shared file (the locks file) stayed locked by another process's change for longer than the wait. */
  FILE_BUSY: 'GH_ERR_FILE_BUSY',
  PROTOCOL_VIOLATION: 'GH_ERR_PROTOCOL_VIOLATION',
  MESSAGE_TOO_LARGE: 'GH_ERR_MESSAGE_TOO_LARGE',
  STARTUP_TIMEOUT: 'GH_ERR_STARTUP_TIMEOUT',
  TLS_REQUIRED: 'GH_ERR_TLS_REQUIRED',
  UNSUPPORTED_PROTOCOL: 'GH_ERR_UNSUPPORTED_PROTOCOL',
  /** A malformed PROXY protocol header, or none where proxy.proxy_protocol is on. */
  PROXY_PROTOCOL: 'GH_ERR_PROXY_PROTOCOL',
  /** A PROXY protocol header from a peer outside proxy.proxy_protocol_trusted_cidrs. */
  PROXY_PROTOCOL_UNTRUSTED: 'GH_ERR_PROXY_PROTOCOL_UNTRUSTED',
  CERT_INVALID: 'GH_ERR_CERT_INVALID',
  CERT_EXPIRED: 'GH_ERR_CERT_EXPIRED',
  ACCESS_DENIED: 'GH_ERR_ACCESS_DENIED',
  UNKNOWN_DATABASE: 'GH_ERR_UNKNOWN_DATABASE',
  UNKNOWN_USER: 'GH_ERR_UNKNOWN_USER',
  UPSTREAM_UNREACHABLE: 'GH_ERR_UPSTREAM_UNREACHABLE',
  UPSTREAM_TLS: 'GH_ERR_UPSTREAM_TLS',
  UPSTREAM_AUTH: 'GH_ERR_UPSTREAM_AUTH',
  UPSTREAM_ERROR: 'GH_ERR_UPSTREAM_ERROR',
  UPSTREAM_CLOSED: 'GH_ERR_UPSTREAM_CLOSED',
  CREDENTIALS_UNAVAILABLE: 'GH_ERR_CREDENTIALS_UNAVAILABLE',
  /** Gatehouse's AWS identity lacks a permission (IAM AccessDenied), named in the message. */
  AWS_ACCESS_DENIED: 'GH_ERR_AWS_ACCESS_DENIED',
  /** Gatehouse has no AWS credentials, or AWS rejects them (unknown key, bad signature, expired). */
  AWS_CREDENTIALS: 'GH_ERR_AWS_CREDENTIALS',
  /** The configured Redshift cluster or Serverless workgroup does not exist in the region. */
  AWS_NOT_FOUND: 'GH_ERR_AWS_NOT_FOUND',
  /** The cluster or workgroup exists but is not available (paused, resizing, rebooting, modifying). */
  AWS_NOT_AVAILABLE: 'GH_ERR_AWS_NOT_AVAILABLE',
  /** The configured uri is not the cluster's or workgroup's real endpoint: no credentials are minted for it. */
  AWS_ENDPOINT_MISMATCH: 'GH_ERR_AWS_ENDPOINT_MISMATCH',
  /** AWS kept throttling the call through every retry. */
  AWS_THROTTLED: 'GH_ERR_AWS_THROTTLED',
  /** The AWS API did not answer in time, could not be reached, or failed with a server error. */
  AWS_UNREACHABLE: 'GH_ERR_AWS_UNREACHABLE',
  /** Any other refusal from the AWS API, with AWS's own code and message. */
  AWS_REQUEST_FAILED: 'GH_ERR_AWS_REQUEST_FAILED',
  /** The SSH bastion in front of a database cannot be reached, or the connection to it was lost. */
  SSH_UNREACHABLE: 'GH_ERR_SSH_UNREACHABLE',
  /** The bastion's host key is not in ssh_tunnel.known_hosts_file, differs from it, or is revoked there. */
  SSH_HOST_KEY: 'GH_ERR_SSH_HOST_KEY',
  /** The bastion refused Gatehouse's key (not in authorized_keys) or its key file is missing or unusable. */
  SSH_AUTH: 'GH_ERR_SSH_AUTH',
  /** The bastion refused to open a channel to the database (forwarding not allowed, database unreachable from it). */
  SSH_CHANNEL: 'GH_ERR_SSH_CHANNEL',
  CA_INVALID: 'GH_ERR_CA_INVALID',
  KEY_PERMISSIONS: 'GH_ERR_KEY_PERMISSIONS',
  SHUTTING_DOWN: 'GH_ERR_SHUTTING_DOWN',
  /** proxy.max_connections or a role's max_connections is reached. */
  TOO_MANY_CONNECTIONS: 'GH_ERR_TOO_MANY_CONNECTIONS',
  /** A session saw no bytes either way for client_idle_timeout. */
  IDLE_TIMEOUT: 'GH_ERR_IDLE_TIMEOUT',
  /** A Gatehouse administrator ended the session (gatehouse sessions kill). */
  SESSION_KILLED: 'GH_ERR_SESSION_KILLED',
  /** The user (or the user on this database) is locked by an administrator (gatehouse locks add). */
  LOCKED: 'GH_ERR_LOCKED',
  /** A reload of gatehouse.yaml or the users file took away the access a running session had. */
  ACCESS_REVOKED: 'GH_ERR_ACCESS_REVOKED',
  // The web API's answers (HTTP status + these codes in the JSON error body).
  LOGIN_FAILED: 'GH_ERR_LOGIN_FAILED',
  TOTP_REQUIRED: 'GH_ERR_TOTP_REQUIRED',
  TOTP_INVALID: 'GH_ERR_TOTP_INVALID',
  LOGIN_THROTTLED: 'GH_ERR_LOGIN_THROTTLED',
  IDENTITY_REQUIRED: 'GH_ERR_IDENTITY_REQUIRED',
  BAD_REQUEST: 'GH_ERR_BAD_REQUEST',
  BODY_TOO_LARGE: 'GH_ERR_BODY_TOO_LARGE',
  NOT_FOUND: 'GH_ERR_NOT_FOUND',
  METHOD_NOT_ALLOWED: 'GH_ERR_METHOD_NOT_ALLOWED',
  /** The admin API: the caller's roles do not have options.admin. */
  NOT_ADMIN: 'GH_ERR_NOT_ADMIN',
  /** The admin API: no running session (sessions kill) or lock (locks remove) has that id. */
  UNKNOWN_SESSION: 'GH_ERR_UNKNOWN_SESSION',
  UNKNOWN_LOCK: 'GH_ERR_UNKNOWN_LOCK',
  /** proxy.workers > 1: a worker or the primary did not answer a request between them (gone, or too slow). */
  WORKER_UNAVAILABLE: 'GH_ERR_WORKER_UNAVAILABLE',
  /** proxy.workers > 1: a worker process could not start (its own error is in the message). */
  WORKER_START_FAILED: 'GH_ERR_WORKER_START_FAILED',
  INTERNAL: 'GH_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The SQLSTATEs Gatehouse itself sends (see PostgreSQL's errcodes appendix). */
export const SqlState = {
  INVALID_AUTHORIZATION: '28000',
  INVALID_PASSWORD: '28P01',
  CONNECTION_FAILURE: '08006',
  SQLCLIENT_UNABLE_TO_ESTABLISH: '08001',
  PROTOCOL_VIOLATION: '08P01',
  FEATURE_NOT_SUPPORTED: '0A000',
  TOO_MANY_CONNECTIONS: '53300',
  ADMIN_SHUTDOWN: '57P01',
  IDLE_SESSION_TIMEOUT: '57P05',
  INVALID_CATALOG_NAME: '3D000',
  INTERNAL_ERROR: 'XX000',
} as const;

export interface GatehouseErrorOptions {
  sqlState: string;
  detail?: string;
  hint?: string;
  cause?: unknown;
}

export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly sqlState: string;
  readonly detail?: string;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: GatehouseErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.sqlState = options.sqlState;
    this.detail = options.detail;
    this.hint = options.hint;
  }
}

/** A framing or length problem found while reading bytes off the wire. */
export class ProtocolError extends GatehouseError {
  constructor(message: string, code: ErrorCode = ErrorCodes.PROTOCOL_VIOLATION) {
    super(code, message, { sqlState: SqlState.PROTOCOL_VIOLATION });
    this.name = 'ProtocolError';
  }
}
