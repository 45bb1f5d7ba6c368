// The BackendKeyData Gatehouse gives each client, and the real upstream key behind it. Clients
// never learn the database's process id or secret; a CancelRequest carrying a key Gatehouse
// issued is forwarded with the real one (psql sends it on a new, plaintext connection).
//
// With proxy.workers > 1 a CancelRequest lands on whichever worker accepts its connection, not
// necessarily the one that issued the key. So a worker's process ids carry its index in bits
// 30..25 (6 bits: 64 workers), the rest random; a key whose index is another worker's is passed
// on (through the primary) to that worker, which checks the secret and forwards the cancel.
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { UpstreamTarget } from './upstream-targets.js';

/** Bits of a process id below the worker index; the index takes the 6 above, bit 31 stays 0. */
const WORKER_SHIFT = 25;
/** Worker indexes 0..63 (config MAX_WORKERS). */
export const MAX_WORKER_INDEX = 63;

/** The process id a worker issues: its index above, `random` (1 to 2^25-1) below. */
export function workerProcessId(workerIndex: number, random: number): number {
  return workerIndex * 2 ** WORKER_SHIFT + random;
}

/** The index of the worker that issued a process id (meaningful only for keys from a multi-worker Gatehouse). */
export function workerOfProcessId(processId: number): number {
  return Math.floor(processId / 2 ** WORKER_SHIFT) & MAX_WORKER_INDEX;
}

export interface CancelKeysOptions {
  /** This worker's index (0-63) when proxy.workers > 1; absent in a single-process Gatehouse. */
  readonly workerIndex?: number;
  /** Hands a CancelRequest for another worker's key towards that worker (through the primary). */
  readonly passToWorker?: (workerIndex: number, processId: number, secretKey: Buffer) => void;
}

export interface CancelTarget {
  readonly databaseName: string;
  readonly target: UpstreamTarget;
  readonly processId: number;
  readonly secretKey: Buffer;
}

export interface IssuedKey {
  readonly processId: number;
  readonly secretKey: Buffer;
}

interface Entry {
  readonly secretKey: Buffer;
  readonly target: CancelTarget;
}

export class CancelKeys {
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly options: CancelKeysOptions = {}) {
    const index = options.workerIndex;
    if (index !== undefined && !(Number.isInteger(index) && index >= 0 && index <= MAX_WORKER_INDEX)) {
      throw new RangeError(`worker index must be a whole number from 0 to ${MAX_WORKER_INDEX}, not ${index}`);
    }
  }

  /** A fresh key for a session; release it when the session ends. */
  issue(target: CancelTarget): IssuedKey {
    const index = this.options.workerIndex;
    let processId: number;
    do {
      processId = index === undefined ? randomInt(1, 0x7fffffff) : workerProcessId(index, randomInt(1, 2 ** WORKER_SHIFT));
    } while (this.entries.has(processId));
    const secretKey = randomBytes(4);
    this.entries.set(processId, { secretKey, target });
    return { processId, secretKey };
  }

  release(processId: number): void {
    this.entries.delete(processId);
  }

  /**
   * True when another worker issued this key: it has been passed on to that worker, which answers
   * it. False in a single-process Gatehouse and for this worker's own keys (use lookup()).
   */
  passIfElsewhere(processId: number, secretKey: Buffer): boolean {
    const { workerIndex, passToWorker } = this.options;
    if (workerIndex === undefined || passToWorker === undefined) return false;
    const owner = workerOfProcessId(processId);
    if (owner === workerIndex) return false;
    passToWorker(owner, processId, Buffer.from(secretKey));
    return true;
  }

  /** The upstream target for a key, compared in constant time; undefined for an unknown key. */
  lookup(processId: number, secretKey: Buffer): CancelTarget | undefined {
    const entry = this.entries.get(processId);
    if (entry === undefined || entry.secretKey.length !== secretKey.length) return undefined;
    return timingSafeEqual(entry.secretKey, secretKey) ? entry.target : undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}
