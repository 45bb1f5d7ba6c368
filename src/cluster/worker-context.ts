// What a Daemon running as one worker of a multi-process Gatehouse (proxy.workers > 1) gets from
// the cluster instead of setting up itself: the primary already made the CAs and started the
// embedded databases (once, not once per worker), cancel requests and login outcomes travel
// between workers, and cluster-wide questions (sessions, metrics) go to every worker.
import type { EmbeddedDatabase } from '../embedded/embedded-database.js';
import type { AdmittedElsewhere } from '../proxy/session-admission.js';
import type { LoginThrottle, LoginThrottleOptions } from '../users/login-throttle.js';
import type { ClusterPeers } from './cluster-peers.js';

export interface ClusterWorkerContext {
  /** 0 to workers-1; carried in the cancel keys this worker issues. */
  readonly index: number;
  /** The embedded databases the primary started; their stop() does nothing here (the primary stops them last). */
  readonly embedded: ReadonlyMap<string, EmbeddedDatabase>;
  readonly peers: ClusterPeers;
  /** Passes a CancelRequest for a key worker `owner` issued to that worker, through the primary. */
  passCancel(owner: number, processId: number, secretKey: Buffer): void;
  /** Registers how this worker answers cancels passed to it: check the key, forward the cancel. */
  onCancel(deliver: (processId: number, secretKey: Buffer) => void): void;
  /** The sessions the other workers hold, so max_connections counts the whole Gatehouse. */
  readonly admittedElsewhere: AdmittedElsewhere;
  /** A login throttle that counts the failures of every worker. */
  loginThrottle(options: LoginThrottleOptions): LoginThrottle;
}
