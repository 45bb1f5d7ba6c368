// The daemon's administrative side, in one object so the daemon wires it in a few lines: the locks
// store, re-deciding running sessions whenever what grants access changes (a reload, the users
// file, the locks), reloading gatehouse.yaml (SIGHUP and POST /v1/admin/reload), and the admin API
// routes. It changes the daemon's configuration holder in place, the one every check reads.
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/events.js';
import type { ClusterPeers } from '../cluster/cluster-peers.js';
import type { GatehouseConfig } from '../config/types.js';
import { adminApiRoutes } from '../web/admin-routes.js';
import type { StatusFacts } from '../web/admin-status-endpoint.js';
import type { ApiRoute } from '../web/web-server.js';
import { clusterAdmin } from './cluster-admin.js';
import { reloadConfigFile, type ReloadOutcome } from './config-reload.js';
import { LockStore } from './lock-store.js';
import { LocalSessions, type AdminSession, type SessionDirectory } from './session-directory.js';
import { recheckSessions, type EndedSession } from './session-recheck.js';

export interface AdminControlOptions {
  /** yaml: gatehouse.yaml as loaded; current: it plus the users file, what every check reads. Changed in place. */
  readonly configuration: { yaml: GatehouseConfig; current: GatehouseConfig };
  /** Reads the users file again if it changed (its change handler then merges and enforces). */
  readonly refreshUsers: () => void;
  /** Merges the users file into configuration.current from configuration.yaml. */
  readonly mergeUsers: () => void;
  readonly logger: Logger;
  readonly audit: AuditLog;
  readonly now?: () => number;
  /** How often the locks file is polled; default 1 s. */
  readonly locksPollIntervalMs?: number;
}

export class AdminControl {
  readonly locks: LockStore;
  private sessions: () => Iterable<AdminSession> = () => [];
  /** During a reload: where enforce() also puts the sessions it ends. */
  private collecting: EndedSession[] | undefined;

  constructor(private readonly options: AdminControlOptions) {
    this.locks = new LockStore({
      dataDir: options.configuration.yaml.proxy.data_dir,
      logger: options.logger,
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.locksPollIntervalMs === undefined ? {} : { pollIntervalMs: options.locksPollIntervalMs }),
    });
  }

  /** Reads the locks file and starts polling it; a change another process makes is enforced here too. */
  start(): void {
    this.locks.start(() => this.enforce());
  }

  stop(): void {
    this.locks.stop();
  }

  /** The running sessions, once the listener exists. */
  attach(sessions: () => Iterable<AdminSession>): void {
    this.sessions = sessions;
  }

  /** Ends every running session the configuration and locks in force no longer allow. */
  enforce(): EndedSession[] {
    const ended = recheckSessions(this.sessions(), this.options.configuration.current, this.locks);
    this.collecting?.push(...ended);
    for (const session of ended) this.options.logger.info({ session_id: session.id, user: session.user, reason: session.reason }, 'session ended: no longer allowed');
    return ended;
  }

  /** enforce(), after reading the locks file if it changed: another process may have just written a lock. */
  enforceNow(): EndedSession[] {
    this.locks.refresh();
    return this.enforce();
  }

  /**
   * Reads gatehouse.yaml and the users file again. An invalid file is logged with its FILE:LINE:COL
   * lines and changes nothing; a valid one is in force for new connections at once, and running
   * sessions it no longer allows are ended.
   */
  reload(): ReloadOutcome {
    const { configuration, logger } = this.options;
    const running = configuration.yaml;
    const loaded = reloadConfigFile(running);
    if (!loaded.ok) {
      logger.error(
        { config: running.source, errors: loaded.errors },
        `configuration not reloaded: ${running.source} has ${loaded.errors.length} problem(s); the configuration in force is unchanged: ${loaded.errors.join('; ')}`,
      );
      return { ok: false, errors: loaded.errors };
    }
    for (const warning of loaded.warnings) logger.warn({ config: running.source }, warning);
    if (loaded.config.log.level !== running.log.level) logger.level = loaded.config.log.level;
    configuration.yaml = loaded.config;
    // Every session ended from here on is this reload's doing, also those the users file's change
    // handler ends when refreshUsers finds the file changed.
    const ended: EndedSession[] = [];
    this.collecting = ended;
    try {
      this.options.refreshUsers();
      this.options.mergeUsers();
      this.enforce();
    } finally {
      this.collecting = undefined;
    }
    logger.info({ config: running.source, warnings: loaded.warnings.length, sessions_ended: ended.length }, 'configuration reloaded');
    return { ok: true, warnings: loaded.warnings, sessionsEnded: ended };
  }

  /** SIGHUP: a reload, audited like one through the API (user "(SIGHUP)", client_addr "local"). */
  reloadOnSignal(): void {
    const outcome = this.reload();
    this.options.audit.admin({
      user: '(SIGHUP)',
      action: 'reload',
      client_addr: 'local',
      success: outcome.ok,
      ...(outcome.ok ? {} : { error: `the configuration has ${outcome.errors.length} problem(s): ${outcome.errors.join('; ')}` }),
    });
  }

  /**
   * The admin API. With `peers` (a worker of a multi-process Gatehouse), listing and killing
   * sessions, enforcing a new lock and reloading run in every worker; without, in this process.
   */
  routes(options: { config: () => GatehouseConfig; status: () => StatusFacts; summary?: () => Record<string, number> | Promise<Record<string, number>>; peers?: ClusterPeers }): ApiRoute[] {
    const local = { sessions: new LocalSessions(() => this.sessions()) as SessionDirectory, enforceNow: () => this.enforceNow(), reload: () => this.reload() };
    const everywhere = options.peers === undefined ? undefined : clusterAdmin(options.peers, local);
    return adminApiRoutes({
      config: options.config,
      audit: this.options.audit,
      sessions: everywhere?.sessions ?? local.sessions,
      locks: this.locks,
      enforce: () => everywhere?.enforce() ?? this.enforce(),
      reload: () => everywhere?.reload() ?? this.reload(),
      status: options.status,
      ...(options.summary === undefined ? {} : { summary: options.summary }),
      ...(this.options.now === undefined ? {} : { now: this.options.now }),
    });
  }
}
