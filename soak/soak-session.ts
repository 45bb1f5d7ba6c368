// One soak session: a connection through Gatehouse that runs a random mix of operations with a
// pause between them until told to stop. Any failed operation is counted with its message and the
// connection is replaced, since its state is unknown after a failure; so is one that takes longer
// than OPERATION_TIMEOUT_MS, so that lost bytes show up as a counted stall, not a hung soak.
// Listening sessions LISTEN on their own channel and check every notification against the ledger.
import type { BackendObserver } from './backend-observer.js';
import { copyIn, copyOut } from './op-copy.js';
import { cancel } from './op-cancel.js';
import { notify } from './op-notify.js';
import { extendedQuery, simpleQuery } from './op-queries.js';
import { transaction } from './op-transaction.js';
import { channelFor, type NotificationLedger } from './notifications.js';
import type { OperationContext, SlotState } from './operation-context.js';
import { SoakClient, type GatehouseAddress } from './soak-client.js';
import type { Operation, Tally } from './tally.js';

/** How often each operation is picked, out of the sum of the weights. */
export const OPERATION_WEIGHTS: readonly (readonly [Operation, number])[] = [
  ['simple', 26],
  ['extended', 26],
  ['transaction', 15],
  ['copy-in', 8],
  ['copy-out', 8],
  ['notify', 9],
  ['cancel', 5],
  ['reconnect', 3],
];

/**
 * Listening sessions leave COPY OUT to the others: pg-copy-streams takes the connection's socket
 * over from node-postgres as soon as the COPY is submitted and drops any NotificationResponse it
 * reads until CopyDone, so a notification PostgreSQL sent just before the COPY started would be
 * lost by the client library, not by Gatehouse. (Seen in development: 5 of 279 lost, all so.)
 */
export const LISTENER_OPERATION_WEIGHTS = OPERATION_WEIGHTS.map(([operation, weight]): readonly [Operation, number] => [operation, operation === 'copy-out' ? 0 : weight]);

const OPERATIONS: Record<Exclude<Operation, 'reconnect'>, (context: OperationContext) => Promise<void>> = {
  simple: simpleQuery,
  extended: extendedQuery,
  transaction,
  'copy-in': copyIn,
  'copy-out': copyOut,
  notify,
  cancel,
};

export const OPERATION_TIMEOUT_MS = 120_000;
/** How long a listener about to disconnect waits for the notifications it is owed. */
const NOTIFICATION_WAIT_MS = 15_000;

export interface SessionDependencies {
  readonly gatehouse: GatehouseAddress;
  readonly observer: BackendObserver;
  readonly tally: Tally;
  readonly ledger: NotificationLedger;
}

export class SoakSession {
  private client: SoakClient | undefined;
  /** Set by the client's 'error' event: the connection broke between operations. */
  private broken: Error | undefined;

  constructor(
    readonly state: SlotState,
    private readonly deps: SessionDependencies,
  ) {}

  /** Connects (and LISTENs when this slot is a listener). */
  async open(): Promise<void> {
    const { tally, ledger, gatehouse } = this.deps;
    const client = await SoakClient.connect(gatehouse, tally, `soak-${this.state.slot}`);
    this.broken = undefined;
    client.pg.on('error', (error: Error) => {
      if (this.client === client) this.broken = error;
    });
    this.client = client;
    if (this.state.listener) {
      client.pg.on('notification', (message: { channel: string; payload?: string }) => this.onNotification(client, message.channel, message.payload ?? ''));
      await client.simple(`LISTEN ${channelFor(this.state.slot)}`);
      ledger.listening(this.state.slot);
    }
  }

  /** Runs operations until `running()` turns false; a session that cannot reconnect keeps trying. */
  async run(running: () => boolean, thinkMs: number): Promise<void> {
    const { random } = this.state;
    await delay(random.next() * thinkMs);
    while (running()) {
      if (this.client === undefined) {
        // The last reconnect failed; try again after a pause rather than count ops that never ran.
        await this.open().catch((error: unknown) => this.deps.tally.error('connect', error));
      } else {
        await this.runOnce(random.weighted(this.state.listener ? LISTENER_OPERATION_WEIGHTS : OPERATION_WEIGHTS));
      }
      await delay(random.next() * 2 * thinkMs);
    }
  }

  /** Runs one operation now and counts it, or counts its failure and replaces the connection. */
  async runOnce(operation: Operation): Promise<void> {
    try {
      if (this.broken !== undefined) throw this.broken;
      if (this.client === undefined) throw new Error('not connected');
      await this.perform(operation);
      this.deps.tally.operationDone(operation);
    } catch (error) {
      this.deps.tally.error(operation, error);
      await this.replaceConnection();
    }
  }

  /** Ends the session; a listener first collects what it is owed. Returns the notifications it never got. */
  async close(): Promise<number> {
    const lost = await this.stopListening();
    const client = this.client;
    this.client = undefined;
    await client?.end();
    return lost;
  }

  private async perform(operation: Operation): Promise<void> {
    const client = this.client as SoakClient;
    if (operation === 'reconnect') {
      await this.close();
      await this.open();
      return;
    }
    const { tally, ledger, gatehouse, observer } = this.deps;
    const context: OperationContext = { state: this.state, client, tally, ledger, gatehouse, observer };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        client.destroy();
        reject(new Error(`${operation} did not finish within ${OPERATION_TIMEOUT_MS / 1000} s`));
      }, OPERATION_TIMEOUT_MS);
    });
    try {
      await Promise.race([OPERATIONS[operation](context), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** After a failure: drop the connection and open a new one (on the next turn if this fails too). */
  private async replaceConnection(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.deps.tally.notificationsLost += await this.stopListening();
    client?.destroy();
    try {
      await this.open();
    } catch (error) {
      this.deps.tally.error('connect', error);
    }
  }

  /** No new notifications for this slot; wait for the owed ones. Returns how many never came. */
  private async stopListening(): Promise<number> {
    if (!this.state.listener) return 0;
    const { ledger } = this.deps;
    ledger.close(this.state.slot);
    const deadline = Date.now() + NOTIFICATION_WAIT_MS;
    while (ledger.outstanding(this.state.slot) > 0 && Date.now() < deadline && this.client !== undefined && this.broken === undefined) await delay(20);
    for (const payload of ledger.owedTo(this.state.slot).slice(0, 3)) this.deps.tally.lostNotification(`to slot ${this.state.slot}: ${JSON.stringify(payload.slice(0, 60))}`);
    return ledger.forget(this.state.slot);
  }

  private onNotification(client: SoakClient, channel: string, payload: string): void {
    const { ledger, tally } = this.deps;
    if (channel === channelFor(this.state.slot) && ledger.received(this.state.slot, payload)) tally.notificationsReceived++;
    // A connection being replaced may still hand over what it had read; that was already counted lost.
    else if (client === this.client) tally.mismatch('notification', `slot ${this.state.slot} got a notification on ${channel} it was not owed: ${JSON.stringify(payload.slice(0, 80))}`);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
