// What one soak operation works with: the slot's lasting state (its random sequence and the rows
// it has committed, which outlive reconnects), its current connection, the shared tally and
// notification ledger, where to send a cancel, and a view of the backends from inside PostgreSQL.
import type { BackendObserver } from './backend-observer.js';
import type { NotificationLedger } from './notifications.js';
import type { Random } from './random.js';
import type { GatehouseAddress, SoakClient } from './soak-client.js';
import type { Tally } from './tally.js';

export interface SlotState {
  readonly slot: number;
  readonly random: Random;
  /** Every LISTENing slot is a notification target; the others only send. */
  readonly listener: boolean;
  /** Rows of soak_rows this slot has committed: seq → payload. The database must agree at all times. */
  readonly rows: Map<number, string>;
  nextSeq: number;
  nextCopyBatch: number;
  /** A transaction failed at a point where its outcome is unknown: the final ledger check skips this slot. */
  rowsUncertain: boolean;
}

export interface OperationContext {
  readonly state: SlotState;
  readonly client: SoakClient;
  readonly tally: Tally;
  readonly ledger: NotificationLedger;
  readonly gatehouse: GatehouseAddress;
  readonly observer: BackendObserver;
}

/** The canonical text of a set of rows that PostgreSQL's string_agg(… ORDER BY …) reproduces. */
export function rowsText(rows: ReadonlyMap<number, string>): string {
  return [...rows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([seq, payload]) => `${seq}:${payload}`)
    .join('\n');
}
