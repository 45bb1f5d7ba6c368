// Everything the soak counts, in one place the sessions write to and the report reads: work done,
// the protocol messages sent (to compare with the audit trail), and every failure by kind with
// the first few messages kept, so a run that fails says what failed without a debugger.

export const OPERATIONS = ['simple', 'extended', 'transaction', 'copy-in', 'copy-out', 'notify', 'cancel', 'reconnect'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Kinds of data that came back different from what was sent or computed on the other side. */
export const MISMATCHES = ['echo', 'transaction', 'copy-in', 'copy-out', 'notification', 'ledger'] as const;
export type MismatchKind = (typeof MISMATCHES)[number];

const KEPT_SAMPLES = 20;

export class Tally {
  /** Client sessions opened through Gatehouse (the initial ones and every reconnect). */
  sessionsOpened = 0;
  /** Statements sent: every simple Query and every extended-protocol execution (Bind). */
  queries = 0;
  /** Simple Query messages sent ('Q'); the audit trail must hold as many session.query "query" records. */
  queryMessages = 0;
  /** Bind messages sent ('B'); the audit trail must hold as many "bind" records. */
  bindMessages = 0;
  readonly operations = new Map<Operation, number>(OPERATIONS.map((operation) => [operation, 0]));
  errors = 0;
  readonly errorsByOperation = new Map<string, number>();
  readonly errorSamples: string[] = [];
  readonly mismatches = new Map<MismatchKind, number>(MISMATCHES.map((kind) => [kind, 0]));
  readonly mismatchSamples: string[] = [];
  transactionsCommitted = 0;
  transactionsRolledBack = 0;
  copyInBytes = 0;
  copyOutBytes = 0;
  notificationsSent = 0;
  notificationsReceived = 0;
  /** Owed to a listener that had to disconnect, or still owed when the soak ended. */
  notificationsLost = 0;
  readonly lostNotificationSamples: string[] = [];
  /** CancelRequests sent (plaintext as psql does, or inside TLS). */
  cancelsSent = 0;
  /** Statements that ended with 57014 after a cancel, and the session answered the next query. */
  cancelsConfirmed = 0;
  /** The query right after a cancelled statement cancelled too: PostgreSQL's second SIGINT (op-cancel.ts). */
  cancelsEchoed = 0;

  operationDone(operation: Operation): void {
    this.operations.set(operation, (this.operations.get(operation) ?? 0) + 1);
  }

  /** A simple Query message carrying `statements` statements (COPY counts as one). */
  sentQuery(statements = 1): void {
    this.queries += statements;
    this.queryMessages++;
  }

  sentBind(): void {
    this.queries++;
    this.bindMessages++;
  }

  lostNotification(detail: string): void {
    if (this.lostNotificationSamples.length < KEPT_SAMPLES) this.lostNotificationSamples.push(detail);
  }

  error(where: string, error: unknown): void {
    this.errors++;
    this.errorsByOperation.set(where, (this.errorsByOperation.get(where) ?? 0) + 1);
    if (this.errorSamples.length < KEPT_SAMPLES) this.errorSamples.push(`${where}: ${describe(error)}`);
  }

  mismatch(kind: MismatchKind, detail: string): void {
    this.mismatches.set(kind, (this.mismatches.get(kind) ?? 0) + 1);
    if (this.mismatchSamples.length < KEPT_SAMPLES) this.mismatchSamples.push(`${kind}: ${detail}`);
  }

  get totalMismatches(): number {
    let total = 0;
    for (const count of this.mismatches.values()) total += count;
    return total;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
