// Builds Gatehouse's object graph from a configuration and runs it: the certificate authorities,
// the embedded databases, the upstream dialer, the audit log, the Postgres listener, the users file
// and the web API (login, certificates, database list, /metrics from its own Prometheus registry).
// Only the CLI decides about processes and signals; this class can run many times in one test.
import type net from 'node:net';
import type { Logger } from 'pino';
import { AdminControl } from './admin/admin-control.js';
import type { ReloadOutcome } from './admin/config-reload.js';
import { PinoAuditLog } from './audit/pino-audit-log.js';
import type { AuditLog } from './audit/events.js';
import type { UpstreamCredentials } from './auth/credentials.js';
import { StaticCredentialSource } from './auth/static-credentials.js';
import { createAwsDatabases, type AwsDatabases, type AwsOptions } from './aws/aws-databases.js';
import { RoutingCredentialSource } from './aws/aws-credential-source.js';
import { RoutingTargets } from './aws/aws-targets.js';
import { LruSaltedPasswordCache } from './auth/upstream/scram-sha-256.js';
import { initAuthorities, loadAuthorities, publicHost, type Authorities } from './ca/authority-store.js';
import { answerMetrics, ClusterMetrics, clusterSummary } from './cluster/cluster-metrics.js';
import type { ClusterWorkerContext } from './cluster/worker-context.js';
import { parseHostPort } from './config/address.js';
import type { GatehouseConfig } from './config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from './errors.js';
import { startEmbeddedDatabases, type EmbeddedDatabase } from './embedded/embedded-database.js';
import { GatehouseMetrics } from './metrics/gatehouse-metrics.js';
import { metricsRoute } from './metrics/metrics-endpoint.js';
import { CancelForwarder } from './proxy/cancel-forwarder.js';
import { CancelKeys } from './proxy/cancel-keys.js';
import { PostgresListener } from './proxy/postgres-listener.js';
import { SessionAdmission } from './proxy/session-admission.js';
import { TlsAcceptor } from './proxy/tls-acceptor.js';
import { UpstreamDialer } from './proxy/upstream-connector.js';
import { SshTunnels } from './ssh/ssh-tunnels.js';
import { TunnelTransport } from './ssh/tunnel-transport.js';
import { ConfiguredTargets, type UpstreamTarget } from './proxy/upstream-targets.js';
import { LoginThrottle, type LoginThrottleOptions } from './users/login-throttle.js';
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
  /** Set when this daemon is one worker of `gatehouse start` with proxy.workers > 1 (src/cluster/). */
  readonly worker?: ClusterWorkerContext;
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
    /** This daemon's Prometheus registry and counters (GET /metrics; summary() for gatehouse status). */
    readonly metrics: GatehouseMetrics,
    /** Locks, reloads, re-deciding running sessions, the admin API. */
    private readonly admin: AdminControl,
    /** The SSH connections to bastions (ssh_tunnel); stats() shows their channels. */
    readonly sshTunnels: SshTunnels,
  ) {}

  static async start(options: DaemonOptions): Promise<Daemon> {
    const { config, logger } = options;
    const { worker } = options;
    // A worker's primary made the CAs and started the embedded databases, once for all workers.
    if (worker === undefined) initAuthorities(config.proxy.ca_dir, config.proxy.public_addr);
    const authorities = loadAuthorities(config.proxy.ca_dir);
    const embedded = worker?.embedded ?? (await startEmbeddedDatabases(config, authorities.hostCa, logger));
    const audit = options.audit ?? new PinoAuditLog(config.audit);
    const configuration = { yaml: config, current: config };
    const metrics = new GatehouseMetrics({ databases: () => configuration.current.databases.map((database) => database.name) });
    if (worker !== undefined) answerMetrics(worker.peers, metrics.registry, () => ({ ...metrics.summary() }));
    // The users file is watched for the daemon's whole life: `gatehouse users` needs no restart.
    const directory = new UserDirectory({ path: config.proxy.users_file, logger });
    const admin = new AdminControl({
      configuration,
      refreshUsers: () => directory.refresh(),
      mergeUsers: () => applyStoredUsers(configuration, directory, logger),
      logger,
      audit,
    });
    // A user removed from (or changed in) the users file loses the sessions it may no longer hold.
    directory.start(() => {
      applyStoredUsers(configuration, directory, logger);
      admin.enforce();
    });
    admin.start();
    const startedAt = Date.now();
    try {
      const targets = new Map<string, UpstreamTarget>();
      const credentials = new Map<string, UpstreamCredentials>();
      for (const [name, database] of embedded) {
        targets.set(name, database.target);
        credentials.set(name, database.credentials);
      }
      // Databases with an ssh_tunnel are dialled through their bastion: one SSH connection per bastion, opened on first use.
      const sshTunnels = new SshTunnels({ logger });
      const dialer = new UpstreamDialer(new TunnelTransport(() => configuration.current.databases, sshTunnels));
      // Databases with an aws block get their address and a minted password per session from AWS.
      const admission = new SessionAdmission(worker?.admittedElsewhere);
      const awsDatabases = createAwsDatabases({ logger, connectTimeoutMs: () => configuration.current.proxy.connect_timeout_ms, aws: options.aws, metrics });
      // With workers, a cancel for another worker's key is passed to it; cancels for ours come back here.
      const cancelKeys = new CancelKeys(worker === undefined ? {} : { workerIndex: worker.index, passToWorker: (owner, processId, key) => worker.passCancel(owner, processId, key) });
      const cancelForwarder = new CancelForwarder(dialer, () => configuration.current.proxy.connect_timeout_ms, logger);
      worker?.onCancel((processId, secretKey) => {
        const target = cancelKeys.lookup(processId, secretKey);
        if (target === undefined) logger.info('cancel request with an unknown key ignored');
        else void cancelForwarder.forward(target);
      });
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
          cancelKeys,
          cancelForwarder,
          saltedPasswords: new LruSaltedPasswordCache(),
          audit,
          logger,
          admission,
          metrics,
          locks: admin.locks,
        },
        logger,
      );
      admin.attach(() => listener.activeSessions);
      const state = { ready: false };
      const bound = { postgresPort: 0, postgres: '', web: '' };
      const web = new WebServer({
        certPem: authorities.proxyServer.certPem,
        keyPem: authorities.proxyServer.keyPem,
        userCaPem: authorities.userCa.certPem,
        isReady: () => state.ready,
        config: () => configuration.current,
        logger,
        routes: [
          ...webApiRoutes({
            config: () => configuration.current,
            login: freshUsersLogin(
              directory,
              new PasswordLogin({
                config: () => configuration.current,
                directory,
                throttle: loginThrottle({ maxFailures: config.proxy.login_max_failures, lockoutMs: config.proxy.login_lockout_ms }, worker),
              }),
            ),
            userCa: authorities.userCa,
            hostCaPem: authorities.hostCa.certPem,
            audit,
            postgresAddress: () => postgresAddressFor(configuration.current, bound.postgresPort),
            metrics,
            locks: admin.locks,
          }),
          // With workers, a scrape reaching one worker gathers and sums every worker's registry.
          metricsRoute(worker === undefined ? metrics : new ClusterMetrics(worker.peers, metrics.registry)),
          ...admin.routes({
            config: () => configuration.current,
            status: () => ({
              startedAt,
              // A worker's parent is the primary, the process an operator signals.
              pid: worker === undefined ? process.pid : process.ppid,
              listeners: { postgres: bound.postgres, web: bound.web },
              embeddedAddress: (name) => {
                const target = embedded.get(name)?.target;
                return target === undefined ? undefined : `${target.host}:${target.port}`;
              },
            }),
            // With workers, sessions, kills, lock enforcement, reloads and the totals span every worker.
            summary: worker === undefined ? () => ({ ...metrics.summary() }) : () => clusterSummary(worker.peers),
            ...(worker === undefined ? {} : { peers: worker.peers }),
          }),
        ],
      });
      const postgresAt = parseHostPort(config.proxy.postgres_listen_addr, 5432);
      const webAt = parseHostPort(config.proxy.web_listen_addr, 3080);
      const address = await listener.listen(postgresAt.host, postgresAt.port);
      bound.postgresPort = address.port;
      bound.postgres = addressText(address);
      let webAddress: net.AddressInfo;
      try {
        webAddress = await web.listen(webAt.host, webAt.port);
      } catch (error) {
        await listener.close();
        throw error;
      }
      bound.web = addressText(webAddress);
      state.ready = true;
      const daemon = new Daemon(configuration, authorities, listener, address, web, webAddress, state, embedded, audit, logger, directory, awsDatabases, admission, metrics, admin, sshTunnels);
      logger.info({ addr: `${address.address}:${address.port}`, web_addr: `${webAddress.address}:${webAddress.port}` }, 'listeners ready');
      return daemon;
    } catch (error) {
      directory.stop();
      admin.stop();
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

  /**
   * Reads gatehouse.yaml (from config.source) and the users file again, as SIGHUP and
   * POST /v1/admin/reload do: an invalid file changes nothing; a valid one applies at once and
   * running sessions it no longer allows are ended. Keys that need a restart keep their values.
   */
  reload(): ReloadOutcome {
    return this.admin.reload();
  }

  /** SIGHUP: reload, audited as admin.action by "(SIGHUP)". */
  reloadOnSignal(): void {
    this.admin.reloadOnSignal();
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
    this.admin.stop();
    this.awsDatabases.close();
    await this.sshTunnels.close();
    await Promise.all([...this.embedded.values()].map((database) => database.stop()));
    await this.audit.close();
    this.logger.info({ drained }, 'gatehouse stopped');
    return { drained };
  }
}

/** Failed logins count per process, or across every worker of a multi-process Gatehouse. */
function loginThrottle(options: LoginThrottleOptions, worker: ClusterWorkerContext | undefined): LoginThrottle {
  return worker?.loginThrottle(options) ?? new LoginThrottle(options);
}

/** gatehouse.yaml plus the users file becomes the configuration in force; what was ignored is logged. */
function applyStoredUsers(configuration: { yaml: GatehouseConfig; current: GatehouseConfig }, directory: UserDirectory, logger: Logger): void {
  const merged = withStoredUsers(configuration.yaml, directory.users());
  for (const warning of merged.warnings) logger.warn({ users_file: configuration.yaml.proxy.users_file }, warning);
  configuration.current = merged.config;
}

function addressText(address: net.AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
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
