// The BackendKeyData Gatehouse gives each client, and the real upstream key behind it. Clients
// never learn the database's process id or secret; a CancelRequest carrying a key Gatehouse
// issued is forwarded with the real one (psql sends it on a new, plaintext connection).
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { UpstreamTarget } from './upstream-targets.js';

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

  /** A fresh key for a session; release it when the session ends. */
  issue(target: CancelTarget): IssuedKey {
    let processId: number;
    do {
      processId = randomInt(1, 0x7fffffff);
    } while (this.entries.has(processId));
    const secretKey = randomBytes(4);
    this.entries.set(processId, { secretKey, target });
    return { processId, secretKey };
  }

  release(processId: number): void {
    this.entries.delete(processId);
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
