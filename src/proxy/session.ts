// One client connection, from the first byte to the last, read top to bottom:
// startup ▶ identify ▶ authorize ▶ credentials ▶ upstream login ▶ make client ready ▶ relay ▶ end.
// Every refusal on the way reaches the client as one ErrorResponse (see refuse()).
import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import type { LockLookup } from '../admin/lock-store.js';
import { connectRefusal, sessionAccess } from '../admin/session-access.js';
import type { AuditLog, SessionAudit } from '../audit/events.js';
import type { CredentialSource, UpstreamCredentials } from '../auth/credentials.js';
import type { SaltedPasswordCache } from '../auth/upstream/scram-sha-256.js';
import { identityFromCertificate, type Identity } from '../ca/identity.js';
import type { DatabaseConfig, GatehouseConfig } from '../config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { authenticationOk, backendKeyData, negotiateProtocolVersion } from '../protocol/backend-messages.js';
import type { AuditedFrame } from '../protocol/frontend-framer.js';
import type { ConnectTimer } from '../metrics/connect-timer.js';
import type { SessionMetrics } from '../metrics/hooks.js';
import { CancelForwarder } from './cancel-forwarder.js';
import type { CancelKeys } from './cancel-keys.js';
import { ClientHandshake, type ClientHello } from './client-handshake.js';
import { proxyProtocolPolicy } from './proxy-header.js';
import { ClientClosedError } from './startup-reader.js';
import { clientErrorFor } from './client-errors.js';
import { QueryAuditor } from './query-audit.js';
import { Relay, type RelayResult } from './relay.js';
import type { SessionAdmission } from './session-admission.js';
import { SessionWatch, idleTimeoutMsFor } from './session-watch.js';
import type { TlsAcceptor } from './tls-acceptor.js';
import type { UpstreamDialer } from './upstream-connector.js';
import { loginUpstream, type UpstreamSession } from './upstream-login.js';
import type { TargetResolver, UpstreamTarget } from './upstream-targets.js';

export interface SessionDependencies {
  /** The configuration in force now: RBAC is decided against it at connect time. */
  readonly config: () => GatehouseConfig;
  readonly acceptor: TlsAcceptor;
  readonly targets: TargetResolver;
  readonly credentials: CredentialSource;
  readonly dialer: UpstreamDialer;
  readonly cancelKeys: CancelKeys;
  readonly cancelForwarder: CancelForwarder;
  readonly saltedPasswords: SaltedPasswordCache;
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** Refuses sessions while draining and past max_connections; counts the admitted ones. */
  readonly admission: SessionAdmission;
  /** The administrators' locks (gatehouse locks add), checked right after RBAC. */
  readonly locks?: LockLookup;
  /** Sessions started, active and refused, connect timings, bytes (read at scrape time). */
  readonly metrics?: SessionMetrics;
}

interface Route {
  readonly database: DatabaseConfig;
  readonly dbUser: string;
  readonly dbName: string;
}

/** Startup parameters that name the login itself, or are protocol extensions Gatehouse does not pass on. */
const ROUTE_PARAMETERS = new Set(['user', 'database']);

export class Session {
  readonly id = randomUUID();
  /** The client's address: the socket's, or the real client's from a trusted PROXY protocol header. */
  clientAddress: string;
  /** ms since the epoch (the admin API's session list). */
  readonly startedAt = Date.now();
  private identity: Identity | undefined;
  private route: Route | undefined;
  private relay: Relay | undefined;
  private readonly abort = new AbortController();
  private terminated = false;

  constructor(
    private readonly raw: net.Socket,
    private readonly deps: SessionDependencies,
  ) {
    this.clientAddress = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? 0}`;
    // A client can vanish at any moment; its socket errors must never reach the process.
    raw.on('error', () => undefined);
  }

  get user(): string | undefined {
    return this.identity?.user;
  }

  get databaseName(): string | undefined {
    return this.route?.database.name;
  }

  get dbUser(): string | undefined {
    return this.route?.dbUser;
  }

  get dbName(): string | undefined {
    return this.route?.dbName;
  }

  /** True once terminate() was called: the session is ending and leaves the listener's set a moment later. */
  get terminating(): boolean {
    return this.terminated;
  }

  /** Bytes relayed so far (0 before the relay starts). */
  get bytesFromClient(): number {
    return this.relay?.relayedFromClient ?? 0;
  }

  get bytesToClient(): number {
    return this.relay?.relayedToClient ?? 0;
  }

  async run(): Promise<void> {
    const handshake = new ClientHandshake(this.raw, this.deps.acceptor, {
      proxyProtocol: proxyProtocolPolicy(this.deps.config().proxy, this.deps.logger),
      onProxiedClient: (client) => {
        this.clientAddress = `${client.address}:${client.port}`;
      },
    });
    let release: (() => void) | undefined;
    try {
      const hello = await this.startup(handshake);
      if (hello.kind === 'cancel') return await this.forwardCancel(hello);
      const timer = this.deps.metrics?.connectTimer();
      hello.socket.on('error', () => undefined);
      this.deps.admission.refuseIfDraining();
      this.identity = this.identify(hello.socket);
      const route = this.resolveRoute(this.identity, hello.parameters);
      this.route = route;
      this.authorize(this.identity, route);
      // Counted from here: the user is known, and an unauthorized one has had its 28000.
      release = this.deps.admission.admit(this.identity.user, this.deps.config());
      const credentials = await this.credentialsFor(route);
      const { upstream, target } = await this.connectUpstream(route, credentials, hello.parameters, timer).catch((error: unknown) => {
        this.forgetRefusedCredentials(route, error);
        throw error;
      });
      const audit = this.deps.audit.session({
        session_id: this.id,
        user: this.identity.user,
        database: this.route.database.name,
        db_user: this.route.dbUser,
        db_name: this.route.dbName,
        client_addr: this.clientAddress,
      });
      const key = this.deps.cancelKeys.issue({ databaseName: this.route.database.name, target, processId: upstream.processId, secretKey: upstream.secretKey });
      let endMetrics: (() => void) | undefined;
      try {
        this.makeClientReady(hello, upstream, key);
        audit.started(credentials.user);
        endMetrics = this.deps.metrics?.sessionStarted(route.database.name, this, timer);
        const result = await this.relayUntilEnd(hello.socket, upstream, hello.pipelined, audit);
        this.recordEnd(audit, result);
      } catch (error) {
        upstream.socket.destroy();
        throw error;
      } finally {
        endMetrics?.();
        this.deps.cancelKeys.release(key.processId);
      }
    } catch (error) {
      this.refuse(handshake, error);
    } finally {
      release?.();
    }
  }

  /** Ends a running session from Gatehouse's side with an ErrorResponse saying why. */
  terminate(error: GatehouseError, reason: string): void {
    this.terminated = true;
    if (this.relay !== undefined) this.relay.end(error, reason);
    else {
      this.abort.abort();
      this.raw.destroy();
    }
  }

  /** TLS with a verified client certificate and a StartupMessage, within the startup timeout. */
  private startup(handshake: ClientHandshake): Promise<ClientHello> {
    const timeoutMs = this.deps.config().proxy.startup_timeout_ms;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new GatehouseError(ErrorCodes.STARTUP_TIMEOUT, `no startup message within ${timeoutMs / 1000} s; closing the connection`, {
            sqlState: SqlState.PROTOCOL_VIOLATION,
          }),
        );
      }, timeoutMs);
    });
    return Promise.race([handshake.run(), timeout]).finally(() => clearTimeout(timer));
  }

  /** Who is this? The user and route signed into the client certificate. */
  private identify(socket: tls.TLSSocket): Identity {
    // The X509Certificate TLS already holds: getPeerCertificate() would build a detailed object
    // of the whole certificate only for its DER to be parsed again.
    return identityFromCertificate(socket.getPeerX509Certificate());
  }

  /** Which database service (from the certificate), db user and db name (from StartupMessage, defaulting to the certificate). */
  private resolveRoute(identity: Identity, parameters: ReadonlyMap<string, string>): Route {
    const certified = identity.route;
    if (certified === undefined) {
      // An identity certificate (dbctl login) proves who the user is to the web API; it opens no database.
      throw new GatehouseError(ErrorCodes.CERT_INVALID, 'this is a dbctl identity certificate, not a database certificate', {
        sqlState: SqlState.INVALID_AUTHORIZATION,
        hint: 'run "dbctl login <database>" and connect with the certificate it writes',
      });
    }
    const database = this.deps.config().databases.find((candidate) => candidate.name === certified.database);
    if (database === undefined) {
      throw new GatehouseError(ErrorCodes.UNKNOWN_DATABASE, `database "${certified.database}" named in your certificate is not served by this Gatehouse`, {
        sqlState: SqlState.INVALID_AUTHORIZATION,
        hint: 'Ask a Gatehouse administrator for a certificate to a database this Gatehouse serves ("gatehouse certs issue --db NAME").',
      });
    }
    const dbUser = parameters.get('user') ?? certified.dbUser ?? '';
    if (dbUser === '') {
      throw new GatehouseError(ErrorCodes.ACCESS_DENIED, 'no database user given', {
        sqlState: SqlState.INVALID_AUTHORIZATION,
        hint: 'Set user= in the connection string (psql -U), or get a certificate with a default database user.',
      });
    }
    const dbName = parameters.get('database') || certified.dbName || dbUser;
    return { database, dbUser, dbName };
  }

  /**
   * May this user use this database, db user and db name, and is no lock in the way? Decided against
   * the current config and locks, by the same function that re-decides running sessions after a reload.
   */
  private authorize(identity: Identity, route: Route): void {
    const verdict = sessionAccess(this.deps.config(), this.deps.locks, {
      user: identity.user,
      database: route.database.name,
      dbUser: route.dbUser,
      dbName: route.dbName,
    });
    if (!verdict.allowed) throw connectRefusal(verdict);
  }

  /** The upstream login the person never sees. */
  private credentialsFor(route: Route): Promise<UpstreamCredentials> {
    return this.deps.credentials.credentialsFor({ database: route.database, dbUser: route.dbUser, dbName: route.dbName });
  }

  /** A password the database refused (28P01) must not be handed to the next session from a cache. */
  private forgetRefusedCredentials(route: Route, error: unknown): void {
    if (error instanceof GatehouseError && error.sqlState === SqlState.INVALID_PASSWORD) {
      this.deps.credentials.forget?.({ database: route.database, dbUser: route.dbUser, dbName: route.dbName });
    }
  }

  /** Dial, TLS and log in to the database, within the connect timeout. */
  private async connectUpstream(
    route: Route,
    credentials: UpstreamCredentials,
    clientParameters: ReadonlyMap<string, string>,
    connectTimer?: ConnectTimer,
  ): Promise<{ upstream: UpstreamSession; target: UpstreamTarget }> {
    const target = await this.deps.targets.targetFor(route.database);
    const timeoutMs = this.deps.config().proxy.connect_timeout_ms;
    const parameters = new Map<string, string>();
    for (const [name, value] of clientParameters) {
      if (!ROUTE_PARAMETERS.has(name) && !name.startsWith('_pq_.')) parameters.set(name, value);
    }
    const attempt = new AbortController();
    const stopAttempt = () => attempt.abort();
    this.abort.signal.addEventListener('abort', stopAttempt, { once: true });
    const connect = async () => {
      const keepAliveMs = this.deps.config().proxy.tcp_keepalive_ms;
      connectTimer?.lap('credentials');
      const onDialed = () => connectTimer?.lap('dial');
      const socket = await this.deps.dialer.connect({ databaseName: route.database.name, target, timeoutMs, keepAliveMs, onDialed }, attempt.signal);
      connectTimer?.lap('tls');
      socket.on('error', () => undefined);
      try {
        const upstream = await loginUpstream(socket, {
          databaseName: route.database.name,
          credentials,
          dbName: route.dbName,
          parameters,
          saltedPasswords: this.deps.saltedPasswords,
        });
        connectTimer?.lap('auth');
        return { upstream, target };
      } catch (error) {
        socket.destroy();
        throw error;
      }
    };
    // One deadline for everything: TCP, TLS negotiation, the handshake and the login.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        attempt.abort();
        reject(
          new GatehouseError(ErrorCodes.UPSTREAM_UNREACHABLE, `database "${route.database.name}" at ${target.host}:${target.port} did not complete the connection and login within ${timeoutMs} ms`, {
            sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
            hint: 'The database may be overloaded or a firewall may be dropping packets; try again later or tell the Gatehouse administrator.',
          }),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([connect(), timeout]);
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', stopAttempt);
    }
  }

  /** AuthenticationOk, the database's ParameterStatus, Gatehouse's own BackendKeyData, ReadyForQuery: one write. */
  private makeClientReady(hello: Extract<ClientHello, { kind: 'startup' }>, upstream: UpstreamSession, key: { processId: number; secretKey: Buffer }): void {
    const parts: Buffer[] = [];
    const unsupportedOptions = [...hello.parameters.keys()].filter((name) => name.startsWith('_pq_.'));
    if (hello.minorVersion > 0 || unsupportedOptions.length > 0) parts.push(negotiateProtocolVersion(0, unsupportedOptions));
    parts.push(authenticationOk(), ...upstream.greeting, backendKeyData(key.processId, key.secretKey), upstream.readyForQuery);
    hello.socket.write(Buffer.concat(parts));
  }

  /** Relay until either side ends; every audited message becomes a session.query event. */
  private relayUntilEnd(client: tls.TLSSocket, upstream: UpstreamSession, pipelined: Buffer, audit: SessionAudit): Promise<RelayResult> {
    const auditor = new QueryAuditor(this.deps.config().audit.log_query_parameters);
    const onFrame = (frame: AuditedFrame) => {
      const record = auditor.recordFor(frame);
      if (record !== undefined) audit.query(record);
    };
    this.relay = new Relay(client, upstream.socket, onFrame);
    const config = this.deps.config();
    const identity = this.identity;
    const watch = new SessionWatch(this.relay, {
      idleTimeoutMs: identity === undefined ? config.proxy.client_idle_timeout_ms : idleTimeoutMsFor(config, identity.user),
      certificateExpiresAt: config.proxy.disconnect_expired_cert ? identity?.notAfter : undefined,
    });
    const relayed = this.relay.run(pipelined, upstream.rest);
    watch.start();
    return relayed.finally(() => watch.stop());
  }

  private recordEnd(audit: SessionAudit, result: RelayResult): void {
    audit.ended({
      reason: result.reason,
      duration_ms: Date.now() - this.startedAt,
      bytes_from_client: result.bytesFromClient,
      bytes_to_client: result.bytesToClient,
      sqlstate: result.sqlState,
    });
    if (result.error !== undefined) this.deps.logger.debug({ session_id: this.id, err: result.error }, 'session ended with a socket error');
  }

  /** A CancelRequest: forward it with the real key if Gatehouse issued this one; say nothing either way. */
  private async forwardCancel(hello: Extract<ClientHello, { kind: 'cancel' }>): Promise<void> {
    this.raw.end();
    // With proxy.workers > 1 another worker may have issued the key: that worker checks and forwards it.
    if (this.deps.cancelKeys.passIfElsewhere(hello.processId, hello.secretKey)) return;
    const target = this.deps.cancelKeys.lookup(hello.processId, hello.secretKey);
    if (target === undefined) {
      this.deps.logger.info({ client_addr: this.clientAddress }, 'cancel request with an unknown key ignored');
      return;
    }
    await this.deps.cancelForwarder.forward(target);
  }

  /** The one place a failed session becomes an ErrorResponse, an audit event and a log line. */
  private refuse(handshake: ClientHandshake, error: unknown): void {
    const refusal = clientErrorFor(error, this.id);
    if (refusal.unexpected) this.deps.logger.error({ session_id: this.id, err: error }, 'session failed unexpectedly');
    if (handshake.canReply && !handshake.current.destroyed) handshake.current.end(refusal.response);
    // Give the ErrorResponse a moment to leave, then make sure nothing of this connection lingers.
    setTimeout(() => {
      handshake.current.destroy();
      this.raw.destroy();
    }, 1_000).unref();
    if (error instanceof ClientClosedError && this.identity === undefined) {
      // Health checks and port scanners connect and leave; that is not a refused session.
      this.deps.logger.debug({ client_addr: this.clientAddress }, 'client left during startup');
      return;
    }
    this.deps.metrics?.sessionRefused(refusal.code, refusal.sqlState, this.route?.database.name);
    this.deps.audit.denied({
      session_id: this.id,
      client_addr: this.clientAddress,
      user: this.identity?.user,
      database: this.route?.database.name ?? this.identity?.route?.database,
      db_user: this.route?.dbUser,
      db_name: this.route?.dbName,
      reason: refusal.message,
      code: refusal.code,
      sqlstate: refusal.sqlState,
    });
  }
}
