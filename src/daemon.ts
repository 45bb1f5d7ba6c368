// Builds Gatehouse's object graph from a configuration and runs it: the certificate authorities,
// the embedded databases, the upstream dialer, the audit log, the Postgres listener, the users file
// and the web API (login, certificates, database list).
// Only the CLI decides about processes and signals; this class can run many times in one test.
import type net from 'node:net';
import type { Logger } from 'pino';
import { PinoAuditLog } from './audit/pino-audit-log.js';
import type { AuditLog } from './audit/events.js';
import type { UpstreamCredentials } from './auth/credentials.js';
import { StaticCredentialSource } from './auth/static-credentials.js';
import { createAwsDatabases, type AwsDatabases, type AwsOptions } from './aws/aws-databases.js';
import { RoutingCredentialSource } from './aws/aws-credential-source.js';
import { RoutingTargets } from './aws/aws-targets.js';
import { LruSaltedPasswordCache } from './auth/upstream/scram-sha-256.js';
import { initAuthorities, loadAuthorities, publicHost, type Authorities } from './ca/authority-store.js';
import { parseHostPort } from './config/address.js';
import type { GatehouseConfig } from './config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from './errors.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded/embedded-database.js';
import { CancelForwarder } from './proxy/cancel-forwarder.js';
import { CancelKeys } from './proxy/cancel-keys.js';
import { PostgresListener } from './proxy/postgres-listener.js';
import { SessionAdmission } from './proxy/session-admission.js';
import { TlsAcceptor } from './proxy/tls-acceptor.js';
import { UpstreamDialer } from './proxy/upstream-connector.js';
import { ConfiguredTargets, type UpstreamTarget } from './proxy/upstream-targets.js';
import { LoginThrottle } from './users/login-throttle.js';
import { withStoredUsers } from './users/merge-users.js';
import { PasswordLogin } from './users/password-login.js';
import { UserDirectory } from './users/user-directory.js';
import { webApiRoutes } from './web/api-routes.js';
import { WebServer } from './web/web-server.js';

export interface DaemonOptions {
  readonly config: GatehouseConfig;
  readonly logger: Logger;
  /** Where audit events go; default: as the config's audit.output says. */
  readonly audit?: AuditLog;
  /** Test hooks for Redshift databases (fixed base AWS keys, cache times); production uses the SDK defaults. */
  readonly aws?: AwsOptions;
}

export interface StopOptions {
  /** How long running sessions may go on by themselves before they are ended; default 0 (at once). */
  readonly graceMs?: number;
  /** Aborting it ends the grace period at once (a second SIGTERM). */
  readonly interrupt?: AbortSignal;
}

export class Daemon {
  private constructor(
    /** yaml: gatehouse.yaml as loaded (or set); current: it plus the users file, what every check reads. */
    private readonly configuration: { yaml: GatehouseConfig; current: GatehouseConfig },
    readonly authorities: Authorities,
    private readonly listener: PostgresListener,
    readonly postgresAddress: net.AddressInfo,
    private readonly web: WebServer,
    readonly webAddress: net.AddressInfo,
    private readonly state: { ready: boolean },
    readonly embedded: ReadonlyMap<string, EmbeddedDatabase>,
    private readonly audit: AuditLog,
    private readonly logger: Logger,
    private readonly directory: UserDirectory,
    private readonly awsDatabases: AwsDatabases,
    private readonly admission: SessionAdmission,
  ) {}

  static async start(options: DaemonOptions): Promise<Daemon> {
    const { config, logger } = options;
    initAuthorities(config.proxy.ca_dir, config.proxy.public_addr);
    const authorities = loadAuthorities(config.proxy.ca_dir);
    const embedded = await startEmbeddedDatabases(config, authorities, logger);
    const audit = options.audit ?? new PinoAuditLog(config.audit);
    const configuration = { yaml: config, current: config };
    // The users file is watched for the daemon's whole life: `gatehouse users` needs no restart.
    const directory = new UserDirectory({ path: config.proxy.users_file, logger });
    directory.start(() => applyStoredUsers(configuration, directory, logger));
    try {
      const targets = new Map<string, UpstreamTarget>();
      const credentials = new Map<string, UpstreamCredentials>();
      for (const [name, database] of embedded) {
        targets.set(name, database.target);
        credentials.set(name, database.credentials);
      }
      const dialer = new UpstreamDialer();
      // Databases with an aws block get their address and a minted password per session from AWS.
      const admission = new SessionAdmission();
      const awsDatabases = createAwsDatabases({ logger, connectTimeoutMs: () => configuration.current.proxy.connect_timeout_ms, aws: options.aws });
      const listener = new PostgresListener(
        {
          config: () => configuration.current,
          acceptor: new TlsAcceptor({
            serverCertPem: authorities.proxyServer.certPem,
            serverKeyPem: authorities.proxyServer.keyPem,
            userCaPem: authorities.userCa.certPem,
          }),
          targets: new RoutingTargets(awsDatabases.targets, new ConfiguredTargets(targets)),
          credentials: new RoutingCredentialSource(awsDatabases.credentials, new StaticCredentialSource(credentials)),
          dialer,
          cancelKeys: new CancelKeys(),
          cancelForwarder: new CancelForwarder(dialer, () => configuration.current.proxy.connect_timeout_ms, logger),
          saltedPasswords: new LruSaltedPasswordCache(),
          audit,
          logger,
          admission,
        },
        logger,
      );
      const state = { ready: false };
      const bound = { postgresPort: 0 };
      const web = new WebServer({
        certPem: authorities.proxyServer.certPem,
        keyPem: authorities.proxyServer.keyPem,
        userCaPem: authorities.userCa.certPem,
        isReady: () => state.ready,
        config: () => configuration.current,
        logger,
        routes: webApiRoutes({
          config: () => configuration.current,
          login: freshUsersLogin(
            directory,
            new PasswordLogin({
              config: () => configuration.current,
              directory,
              throttle: new LoginThrottle({ maxFailures: config.proxy.login_max_failures, lockoutMs: config.proxy.login_lockout_ms }),
            }),
          ),
          userCa: authorities.userCa,
          hostCaPem: authorities.hostCa.certPem,
          audit,
          postgresAddress: () => postgresAddressFor(configuration.current, bound.postgresPort),
        }),
      });
      const postgresAt = parseHostPort(config.proxy.postgres_listen_addr, 5432);
      const webAt = parseHostPort(config.proxy.web_listen_addr, 3080);
      const address = await listener.listen(postgresAt.host, postgresAt.port);
      bound.postgresPort = address.port;
      let webAddress: net.AddressInfo;
      try {
        webAddress = await web.listen(webAt.host, webAt.port);
      } catch (error) {
        await listener.close();
        throw error;
      }
      state.ready = true;
      const daemon = new Daemon(configuration, authorities, listener, address, web, webAddress, state, embedded, audit, logger, directory, awsDatabases, admission);
      logger.info({ addr: `${address.address}:${address.port}`, web_addr: `${webAddress.address}:${webAddress.port}` }, 'listeners ready');
      return daemon;
    } catch (error) {
      directory.stop();
      await Promise.all([...embedded.values()].map((database) => database.stop()));
      throw error;
    }
  }

  /** Replaces the configuration new connections (and the web API) are checked against; the users file is merged in again. */
  setConfig(next: GatehouseConfig): void {
    this.configuration.yaml = next;
    applyStoredUsers(this.configuration, this.directory, this.logger);
  }

  get config(): GatehouseConfig {
    return this.configuration.current;
  }

  get activeSessionCount(): number {
    return this.listener.activeSessions.size;
  }

  /**
   * Drains and stops: readiness fails and new sessions are refused (57P01) at once; running sessions
   * get `graceMs` to end by themselves, then the rest are ended with 57P01. `drained` is true when
   * no session had to be ended.
   */
  async stop(options: StopOptions = {}): Promise<{ drained: boolean }> {
    // Readiness fails first, so a load balancer stops sending new clients.
    this.state.ready = false;
    // The listener stays open meanwhile, so that a new client hears why rather than a refused connect.
    this.admission.startDraining();
    const graceMs = options.graceMs ?? 0;
    if (graceMs > 0 && this.admission.admitted > 0) {
      this.logger.info({ sessions: this.admission.admitted, grace_ms: graceMs }, 'shutting down: waiting for running sessions to end');
    }
    const drained = await this.admission.whenEmpty(graceMs, options.interrupt);
    if (!drained) this.logger.info({ sessions: this.admission.admitted }, 'shutting down: ending the remaining sessions');
    // server.close() resolves only once every connection is gone: end the sessions meanwhile.
    const closed = this.listener.close();
    const shuttingDown = new GatehouseError(ErrorCodes.SHUTTING_DOWN, 'Gatehouse is shutting down', {
      sqlState: SqlState.ADMIN_SHUTDOWN,
      hint: 'Reconnect in a moment.',
    });
    for (const session of this.listener.activeSessions) session.terminate(shuttingDown, 'gatehouse shut down');
    await closed;
    await this.web.close();
    this.directory.stop();
    this.awsDatabases.close();
    await Promise.all([...this.embedded.values()].map((database) => database.stop()));
    await this.audit.close();
    this.logger.info({ drained }, 'gatehouse stopped');
    return { drained };
  }
}

async function startEmbeddedDatabases(config: GatehouseConfig, authorities: Authorities, logger: Logger): Promise<Map<string, EmbeddedDatabase>> {
  const started = new Map<string, EmbeddedDatabase>();
  try {
    for (const database of config.databases) {
      if (database.kind === 'embedded') started.set(database.name, await startEmbeddedDatabase(database, authorities.hostCa, logger));
    }
  } catch (error) {
    await Promise.all([...started.values()].map((database) => database.stop()));
    throw error;
  }
  return started;
}

/** gatehouse.yaml plus the users file becomes the configuration in force; what was ignored is logged. */
function applyStoredUsers(configuration: { yaml: GatehouseConfig; current: GatehouseConfig }, directory: UserDirectory, logger: Logger): void {
  const merged = withStoredUsers(configuration.yaml, directory.users());
  for (const warning of merged.warnings) logger.warn({ users_file: configuration.yaml.proxy.users_file }, warning);
  configuration.current = merged.config;
}

/** host:port clients are told to connect psql to: public_addr's host and the Postgres listener's bound port. */
function postgresAddressFor(config: GatehouseConfig, port: number): string {
  const host = publicHost(config.proxy.public_addr);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Logins see the users file as it is now: `gatehouse users set-password` followed at once by `dbctl login` works. */
function freshUsersLogin(directory: UserDirectory, login: PasswordLogin): { login: PasswordLogin['login'] } {
  return {
    login: (request) => {
      directory.refresh();
      return login.login(request);
    },
  };
}
