// The operations the primary and the workers of a multi-process Gatehouse (proxy.workers > 1) send
// each other over IPC, with their payloads: one place, so both ends agree on names and shapes.
import type net from 'node:net';
import type { UpstreamCredentials } from '../auth/credentials.js';
import type { UpstreamTarget } from '../proxy/upstream-targets.js';

export const Ops = {
  /** worker → primary, notice: listening for the primary's messages now (messages sent before are lost). */
  hello: 'hello',
  /** primary → worker, request: start serving with this (InitPayload) and say where (ReadyPayload). */
  init: 'init',
  /** primary → worker, notice: drain and stop (DrainPayload); the worker exits 0 (drained) or 143. */
  drain: 'drain',
  /** primary → worker, notice: end the drain now (a second SIGTERM/SIGINT). */
  stopNow: 'stop-now',
  /** primary → worker, notice: SIGHUP reached the primary. */
  reload: 'reload',
  /** both ways, notice: a CancelRequest for a key another worker issued (CancelPayload). */
  cancel: 'cancel',
  /** worker → primary, notice: whole log or audit lines for the primary to write (OutputPayload). */
  output: 'output',
  /** worker → primary, request: run a peer operation on every worker (GatherPayload → GatherResult). */
  gather: 'gather',
  /** both ways, notice: a login failure or success, so every worker throttles alike (ThrottlePayload). */
  throttle: 'throttle',
  /** worker → primary: a session admitted or released here (AdmissionReport); primary → worker: another's (AdmissionChange). */
  admission: 'admission',
  /** primary → worker, notice: a worker died, its sessions with it (WorkerGonePayload). */
  workerGone: 'worker-gone',
} as const;

/** A worker's exit code after a drain: every session ended by itself… */
export const WORKER_EXIT_DRAINED = 0;
/** …or some had to be ended (the grace ran out, or a second signal): 128 + SIGTERM, as for one process. */
export const WORKER_EXIT_CUT_OFF = 143;

/** The IPC op under which a worker answers the peer operation `op` (see cluster-peers.ts). */
export function peerOp(op: string): string {
  return `peer:${op}`;
}

/** An embedded database the primary started, as a worker reaches it. */
export interface SharedEmbeddedDatabase {
  readonly name: string;
  readonly target: UpstreamTarget;
  /** The superuser login: it travels over the IPC channel only, never in argv or the environment. */
  readonly credentials: UpstreamCredentials;
}

export interface InitPayload {
  /** 0 to workers-1; a replacement worker gets the index of the one it replaces. */
  readonly index: number;
  /**
   * A replacement for a worker that died. It reloads the config file once it serves, since the
   * others may have reloaded since the primary read configText (SIGHUP or the admin API).
   */
  readonly replacement: boolean;
  /** The config text the primary validated at start, with the name and directory it was read as. */
  readonly configText: string;
  readonly configFile: string;
  readonly cwd: string;
  readonly embedded: readonly SharedEmbeddedDatabase[];
  /** The sessions the other workers hold now, so limits count them from the start. */
  readonly admitted: readonly AdmittedSnapshot[];
}

export interface ReadyPayload {
  readonly postgres: net.AddressInfo;
  readonly web: net.AddressInfo;
}

export interface DrainPayload {
  readonly graceMs: number;
}

export interface CancelPayload {
  /** The worker that issued the key. */
  readonly worker: number;
  readonly processId: number;
  /** The client's secret key, hex; the owner compares it in constant time. */
  readonly secretKey: string;
}

export type OutputStream = 'log' | 'audit';

export interface OutputPayload {
  readonly stream: OutputStream;
  /** One or more complete lines, each ending in \n. */
  readonly text: string;
}

export interface GatherPayload {
  readonly op: string;
  readonly payload?: unknown;
}

export interface ThrottlePayload {
  readonly outcome: 'failure' | 'success';
  readonly user: string;
  readonly address: string;
}

export interface AdmissionReport {
  readonly user: string;
  readonly delta: 1 | -1;
}

export interface AdmissionChange {
  readonly worker: number;
  readonly user: string;
  /** +1 / -1 for one session; a snapshot's count when seeding. */
  readonly delta: number;
}

export interface AdmittedSnapshot {
  readonly worker: number;
  readonly user: string;
  readonly count: number;
}

export interface WorkerGonePayload {
  readonly worker: number;
}
