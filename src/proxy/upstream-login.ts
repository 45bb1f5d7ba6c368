// Logs in to the database over an established TLS connection: StartupMessage, the authentication
// exchange the server asks for (cleartext, MD5, SCRAM-SHA-256, Redshift's SHA-256 digest), then
// ParameterStatus, BackendKeyData and ReadyForQuery, kept to replay to the client.
//
// Authentication requests are parsed by our own strict parser rather than pg-protocol's, which
// reports any unknown authentication code (Kerberos, GSS, SSPI) as AuthenticationOk.
import type tls from 'node:tls';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { BackendReader, type BackendMessage } from '../protocol/backend-reader.js';
import { parseErrorFields } from '../protocol/error-fields.js';
import { startupMessage } from '../protocol/startup-message.js';
import { parseAuthenticationRequest } from '../auth/upstream/authentication-request.js';
import { cleartextPasswordMessage } from '../auth/upstream/cleartext.js';
import { md5PasswordMessage } from '../auth/upstream/md5.js';
import { ScramSha256Client, type SaltedPasswordCache } from '../auth/upstream/scram-sha-256.js';
import { redshiftDigestMessage } from '../auth/upstream/redshift-sha256.js';
import type { UpstreamCredentials } from '../auth/credentials.js';

export interface LoginRequest {
  readonly databaseName: string;
  readonly credentials: UpstreamCredentials;
  readonly dbName: string;
  /** The client's startup parameters other than user and database. */
  readonly parameters: ReadonlyMap<string, string>;
  readonly saltedPasswords: SaltedPasswordCache;
}

export interface UpstreamSession {
  readonly socket: tls.TLSSocket;
  /** ParameterStatus and NoticeResponse messages as the server sent them, in order. */
  readonly greeting: Buffer[];
  readonly processId: number;
  readonly secretKey: Buffer;
  /** The ReadyForQuery message that ended the login. */
  readonly readyForQuery: Buffer;
  /** Bytes the server sent after ReadyForQuery (normally none). */
  readonly rest: Buffer;
}

/** The database refused the login with an ErrorResponse; its bytes go to the client untouched. */
export class UpstreamRefusal extends GatehouseError {
  constructor(readonly errorResponse: Buffer, fields: Map<string, string>) {
    super(ErrorCodes.UPSTREAM_ERROR, fields.get('M') ?? 'the database refused the login', {
      sqlState: fields.get('C') ?? SqlState.CONNECTION_FAILURE,
      detail: fields.get('D'),
      hint: fields.get('H'),
    });
  }
}

export function loginUpstream(socket: tls.TLSSocket, request: LoginRequest): Promise<UpstreamSession> {
  return new Promise((resolve, reject) => {
    const reader = new BackendReader();
    const state = new LoginExchange(socket, request);
    const finish = (error?: unknown, session?: UpstreamSession) => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error !== undefined) reject(error);
      else resolve(session!);
    };
    const onData = (chunk: Buffer) => {
      try {
        reader.push(chunk);
        for (let message = reader.next(); message !== null; message = reader.next()) {
          const done = state.handle(message);
          if (done !== undefined) {
            socket.pause();
            return finish(undefined, { ...done, socket, rest: reader.rest() });
          }
        }
      } catch (error) {
        finish(error);
      }
    };
    const onError = (error: Error) => finish(lost(request.databaseName, error.message));
    const onClose = () => finish(lost(request.databaseName, 'the database closed the connection'));
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    const parameters = new Map(request.parameters);
    parameters.set('user', request.credentials.user);
    parameters.set('database', request.dbName);
    socket.write(startupMessage(parameters));
  });
}

class LoginExchange {
  private scram: ScramSha256Client | undefined;
  private authenticated = false;
  private readonly greeting: Buffer[] = [];
  private processId = 0;
  private secretKey = Buffer.alloc(0);

  constructor(
    private readonly socket: tls.TLSSocket,
    private readonly request: LoginRequest,
  ) {}

  /** Handles one message; returns the session's data once ReadyForQuery arrives. */
  handle(message: BackendMessage): Omit<UpstreamSession, 'socket' | 'rest'> | undefined {
    switch (message.type) {
      case 0x52: // 'R'
        this.authenticate(message.body);
        return undefined;
      case 0x45: // 'E'
        throw new UpstreamRefusal(message.raw, parseErrorFields(message.body));
      case 0x53: // 'S' ParameterStatus
      case 0x4e: // 'N' NoticeResponse
        this.greeting.push(message.raw);
        return undefined;
      case 0x4b: // 'K' BackendKeyData
        if (message.body.length < 8) throw this.violation('a malformed BackendKeyData');
        this.processId = message.body.readInt32BE(0);
        this.secretKey = Buffer.from(message.body.subarray(4));
        return undefined;
      case 0x76: // 'v' NegotiateProtocolVersion: we asked for 3.0 without options, nothing to adapt
        return undefined;
      case 0x5a: // 'Z' ReadyForQuery
        if (!this.authenticated) throw this.violation('ReadyForQuery before authentication finished');
        return { greeting: this.greeting, processId: this.processId, secretKey: this.secretKey, readyForQuery: message.raw };
      default:
        throw this.violation(`an unexpected message '${String.fromCharCode(message.type)}' during login`);
    }
  }

  private authenticate(body: Buffer): void {
    const request = parseAuthenticationRequest(body);
    const { credentials } = this.request;
    switch (request.kind) {
      case 'ok':
        // A server that skips SCRAM's final message never proved it knows the password.
        if (this.scram !== undefined && !this.scram.completed) throw this.violation('AuthenticationOk before finishing SCRAM');
        this.authenticated = true;
        return;
      case 'cleartext':
        this.socket.write(cleartextPasswordMessage(this.password()));
        return;
      case 'md5':
        this.socket.write(md5PasswordMessage(credentials.user, this.password(), request.salt));
        return;
      case 'sasl':
        this.scram = new ScramSha256Client(this.password(), { cache: this.request.saltedPasswords });
        this.socket.write(this.scram.start(request.mechanisms));
        return;
      case 'sasl-continue':
        this.socket.write(this.requireScram().continue(request.data));
        return;
      case 'sasl-final':
        this.requireScram().finish(request.data);
        return;
      case 'redshift-digest':
        this.socket.write(redshiftDigestMessage(this.password(), request.request));
        return;
      case 'unsupported':
        throw new GatehouseError(
          ErrorCodes.UPSTREAM_AUTH,
          `database "${this.request.databaseName}" asked for authentication method ${request.method} (code ${request.code}), which Gatehouse does not support (it supports password, md5, scram-sha-256 and Redshift's sha256)`,
          { sqlState: SqlState.FEATURE_NOT_SUPPORTED, hint: 'Tell the Gatehouse administrator: the database\'s pg_hba.conf must use one of those methods for Gatehouse.' },
        );
    }
  }

  private password(): string {
    const { password } = this.request.credentials;
    if (password === undefined) {
      throw new GatehouseError(
        ErrorCodes.CREDENTIALS_UNAVAILABLE,
        `database "${this.request.databaseName}" asked for a password for "${this.request.credentials.user}" but Gatehouse has none configured for it`,
        { sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH, hint: 'Tell the Gatehouse administrator: set databases[].auth.password_env or password_file.' },
      );
    }
    return password;
  }

  private requireScram(): ScramSha256Client {
    if (this.scram === undefined) throw this.violation('a SASL message before SASL started');
    return this.scram;
  }

  private violation(what: string): GatehouseError {
    return new GatehouseError(ErrorCodes.UPSTREAM_AUTH, `database "${this.request.databaseName}" sent ${what}`, {
      sqlState: SqlState.PROTOCOL_VIOLATION,
    });
  }
}

function lost(databaseName: string, reason: string): GatehouseError {
  return new GatehouseError(ErrorCodes.UPSTREAM_CLOSED, `lost the connection to database "${databaseName}" during login: ${reason}`, {
    sqlState: SqlState.CONNECTION_FAILURE,
  });
}
