// ClusterPeers in a worker of a multi-process Gatehouse: this worker answers peer operations the
// primary passes on, and gathering asks the primary, which runs the operation on every worker
// (this one included) and returns every answer.
import type { ClusterPeers, GatherResult, PeerHandler } from './cluster-peers.js';
import type { IpcChannel } from './ipc-channel.js';
import { Ops, peerOp, type GatherPayload } from './protocol.js';

/** Long enough for every worker to answer (each gets DEFAULT_REQUEST_TIMEOUT_MS from the primary). */
const GATHER_TIMEOUT_MS = 10_000;

export class WorkerPeers implements ClusterPeers {
  constructor(
    private readonly primary: IpcChannel,
    readonly workerIndex: number,
  ) {}

  handle(op: string, handler: PeerHandler): void {
    this.primary.handle(peerOp(op), handler);
  }

  gather<T>(op: string, payload?: unknown): Promise<GatherResult<T>> {
    const request: GatherPayload = { op, payload };
    return this.primary.request<GatherResult<T>>(Ops.gather, request, GATHER_TIMEOUT_MS);
  }
}
