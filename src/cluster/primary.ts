// `gatehouse start` with proxy.workers > 1: the primary process. It does once what must happen once
// (the CAs, the embedded databases), forks the workers that share the Postgres and web listeners
// (node:cluster), and is the hub between them: it writes their output (so lines never interleave),
// passes cancel requests and login outcomes between them, and runs cluster-wide questions
// (sessions, metrics) on every worker. It serves no client itself. It stops the embedded
// databases last, after every worker has stopped.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { initAuthorities, loadAuthorities, type Authorities } from '../ca/authority-store.js';
import { loadConfigFile, parseConfig } from '../config/load.js';
import type { GatehouseConfig } from '../config/types.js';
import { startEmbeddedDatabases, type EmbeddedDatabase } from '../embedded/embedded-database.js';
import { workerOfProcessId } from '../proxy/cancel-keys.js';
import { ForwardedOutput } from './forwarded-output.js';
import type { IpcChannel } from './ipc-channel.js';
import { AdmissionLedger } from './admission-counts.js';
import {
  Ops,
  peerOp,
  type AdmissionChange,
  type AdmissionReport,
  type CancelPayload,
  type GatherPayload,
  type InitPayload,
  type OutputPayload,
  type ThrottlePayload,
  type WorkerGonePayload,
} from './protocol.js';
import { workerAllocator } from './worker-allocator.js';
import { WorkerSupervisor } from './worker-supervisor.js';

export interface PrimaryOptions {
  /** The config file as given on the command line; read here, and its text handed to every worker. */
  readonly configFile: string;
  readonly logger: Logger;
  readonly workers: number;
}

export interface PrimaryStopOptions {
  readonly graceMs: number;
  /** Aborting it (a second signal) tells every worker to stop at once. */
  readonly interrupt?: AbortSignal;
}

/**
 * How connections reach the workers. SCHED_RR: the primary accepts each connection and hands it to
 * the next worker in turn. SCHED_NONE: every worker accepts on the shared socket and the kernel
 * picks one. Measured on 2 cores (pgbench -C, 8 clients, alternating runs, a loaded machine):
 * new connections/s and select TPS were the same within the noise (59/44 vs 56/54 conn/s); the
 * primary's hop costs it 0.37 ms of CPU per connection, about 5 % of the ~6.5 ms a worker spends on
 * the TLS handshakes and the upstream login. What differs is the spread: round-robin put 40
 * connections 20/20 every time, the kernel 26/14 and 28/12. Sessions are long-lived, so an uneven
 * spread stays uneven; round-robin it is. NODE_CLUSTER_SCHED_POLICY=none still overrides it.
 */
const SCHEDULING_POLICY = cluster.SCHED_RR;

export class ClusterPrimary {
  private constructor(
    /** The config as last read here: start, then each SIGHUP (its shutdown_grace is used to stop). */
    private state: { config: GatehouseConfig },
    private readonly configFile: string,
    readonly authorities: Authorities,
    readonly embedded: ReadonlyMap<string, EmbeddedDatabase>,
    private readonly supervisor: WorkerSupervisor,
    private readonly output: ForwardedOutput,
    private readonly logger: Logger,
    readonly postgresAddress: net.AddressInfo,
    readonly webAddress: net.AddressInfo,
  ) {}

  static async start(options: PrimaryOptions): Promise<ClusterPrimary> {
    const { configFile, logger } = options;
    // Read once here: the workers get exactly the text validated here, not whatever the file says when they start.
    const configText = readConfigText(configFile);
    const config = parseConfig(configText, configFile);
    const allocator = workerAllocator(config.proxy.allocator);
    logger.info({ allocator: allocator.name, detail: allocator.detail }, `workers use the ${allocator.name} allocator`);
    initAuthorities(config.proxy.ca_dir, config.proxy.public_addr);
    const authorities = loadAuthorities(config.proxy.ca_dir);
    const embedded = await startEmbeddedDatabases(config, authorities.hostCa, logger);
    const output = ForwardedOutput.open(config.audit.output);
    const state = { config };
    // NODE_CLUSTER_SCHED_POLICY (rr | none), Node's own setting, still lets an operator choose.
    if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = SCHEDULING_POLICY;
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), serialization: 'json' });
    const init = (index: number, replacement: boolean): Omit<InitPayload, 'admitted'> => ({
      index,
      replacement,
      configText,
      configFile,
      cwd: process.cwd(),
      embedded: [...embedded].map(([name, database]) => ({ name, target: database.target, credentials: database.credentials })),
    });
    const relays: { supervisor?: WorkerSupervisor } = {};
    const ledger = new AdmissionLedger();
    const supervisor = new WorkerSupervisor({
      count: options.workers,
      logger,
      env: allocator.env,
      init: (index, replacement) => ({ ...init(index, replacement), admitted: ledger.snapshot(index) }),
      wire: (channel, index) => wireRelays(channel, index, { supervisor: () => relays.supervisor, output, ledger }),
      exited: (index) => {
        ledger.forget(index);
        const gone: WorkerGonePayload = { worker: index };
        relays.supervisor?.notifyStarted(Ops.workerGone, gone);
      },
    });
    relays.supervisor = supervisor;
    try {
      const [first] = await supervisor.startAll();
      if (first === undefined) throw new Error('no worker started');
      logger.info({ workers: options.workers, addr: addressText(first.postgres), web_addr: addressText(first.web) }, 'listeners ready');
      return new ClusterPrimary(state, configFile, authorities, embedded, supervisor, output, logger, first.postgres, first.web);
    } catch (error) {
      await Promise.all([...embedded.values()].map((database) => database.stop()));
      await output.close();
      throw error;
    }
  }

  get config(): GatehouseConfig {
    return this.state.config;
  }

  /**
   * SIGHUP: every worker reloads (each logs and audits its own outcome). Workers always start from
   * the text read at start, which fixes the keys a reload cannot change (listen addresses); a
   * replacement then reloads the file itself, as the others have.
   */
  reloadOnSignal(): void {
    try {
      this.state = { config: parseConfig(readConfigText(this.configFile), this.configFile) };
    } catch {
      // The workers log what is wrong with it.
    }
    this.supervisor.notifyAll(Ops.reload);
  }

  /** Drains every worker, then stops the embedded databases. `drained`: no worker had to end a session. */
  async stop(options: PrimaryStopOptions): Promise<{ drained: boolean }> {
    const { drained } = await this.supervisor.stopAll(options.graceMs, options.interrupt);
    await Promise.all([...this.embedded.values()].map((database) => database.stop()));
    await this.output.close();
    this.logger.info({ drained }, 'gatehouse stopped');
    return { drained };
  }
}

/** What the primary does with each worker's messages: it is the hub between workers. */
function wireRelays(channel: IpcChannel, index: number, hub: { supervisor: () => WorkerSupervisor | undefined; output: ForwardedOutput; ledger: AdmissionLedger }): void {
  const { supervisor, output, ledger } = hub;
  channel.on(Ops.output, (payload) => output.write(payload as OutputPayload));
  channel.on(Ops.admission, (payload) => {
    const report = payload as AdmissionReport;
    const change: AdmissionChange = { worker: index, user: report.user, delta: report.delta };
    ledger.apply(change);
    supervisor()?.notifyStarted(Ops.admission, change, index);
  });
  channel.on(Ops.cancel, (payload) => {
    const cancel = payload as CancelPayload;
    // The owner is read off the key again: a worker cannot address a cancel to anyone else.
    if (cancel.worker !== workerOfProcessId(cancel.processId) || cancel.worker === index) return;
    supervisor()?.channel(cancel.worker)?.notify(Ops.cancel, cancel);
  });
  channel.on(Ops.throttle, (payload) => supervisor()?.notifyAll(Ops.throttle, payload as ThrottlePayload, index));
  channel.handle(Ops.gather, async (payload) => {
    const gather = payload as GatherPayload;
    const workers = supervisor();
    if (workers === undefined) return { answers: [], failed: [] };
    return workers.gather(peerOp(gather.op), gather.payload);
  });
}

function readConfigText(configFile: string): string {
  try {
    return readFileSync(configFile, 'utf8');
  } catch (error) {
    // The regular loader turns an unreadable file into its ConfigError (which file, and why).
    loadConfigFile(configFile);
    throw error;
  }
}

function addressText(address: net.AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}
