// What the admin API and /metrics ask of "all of Gatehouse": with proxy.workers > 1 one Gatehouse
// is several processes, each with its own sessions and counters, and a request on the web listener
// reaches just one of them. A daemon registers what it answers for an operation (its sessions, a
// kill, its metrics) with handle(); gather() runs the operation in every process serving the
// listeners, this one included, and collects the answers. LocalPeers is the single-process case;
// WorkerPeers (worker-peers.ts) asks the primary, which asks every worker.

export interface PeerAnswer<T> {
  /** The worker's index (0 in a single-process Gatehouse). */
  readonly worker: number;
  readonly value: T;
}

export interface PeerFailure {
  readonly worker: number;
  readonly error: string;
}

export interface GatherResult<T> {
  readonly answers: readonly PeerAnswer<T>[];
  /** Workers that failed or did not answer in time; their part is missing from `answers`. */
  readonly failed: readonly PeerFailure[];
}

export type PeerHandler = (payload: unknown) => unknown;

export interface ClusterPeers {
  /** This process's worker index; undefined in a single-process Gatehouse. */
  readonly workerIndex: number | undefined;
  /** What this process answers when anyone gathers `op`; one handler per op. */
  handle(op: string, handler: PeerHandler): void;
  /** Runs `op` in every process serving the listeners, this one included. */
  gather<T>(op: string, payload?: unknown): Promise<GatherResult<T>>;
}

/** The single-process Gatehouse: gathering asks only itself. */
export class LocalPeers implements ClusterPeers {
  readonly workerIndex = undefined;
  private readonly handlers = new Map<string, PeerHandler>();

  handle(op: string, handler: PeerHandler): void {
    this.handlers.set(op, handler);
  }

  async gather<T>(op: string, payload?: unknown): Promise<GatherResult<T>> {
    const handler = this.handlers.get(op);
    if (handler === undefined) return { answers: [], failed: [{ worker: 0, error: `nothing answers ${op} here` }] };
    try {
      return { answers: [{ worker: 0, value: (await handler(payload)) as T }], failed: [] };
    } catch (error) {
      return { answers: [], failed: [{ worker: 0, error: error instanceof Error ? error.message : String(error) }] };
    }
  }
}
