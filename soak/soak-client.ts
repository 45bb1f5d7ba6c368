// One soak session's connection through Gatehouse: a node-postgres client with the shared client
// certificate, whose every statement goes through a method here, so the soak knows exactly how
// many simple Query and Bind messages it sent and can hold the audit trail to the same numbers.
import { createHash } from 'node:crypto';
import type tls from 'node:tls';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Tally } from './tally.js';

export interface GatehouseAddress {
  readonly host: string;
  readonly port: number;
  /** The client certificate and the host CA. */
  readonly secureContext: tls.SecureContext;
  readonly servername: string;
}

/** How long a connection attempt may take; Gatehouse's own connect timeout is 10 s behind it. */
const CONNECT_TIMEOUT_MS = 60_000;

export class SoakClient {
  private constructor(
    readonly pg: pg.Client,
    private readonly tally: Tally,
    /** Sent as application_name; PostgreSQL shows it in pg_stat_activity. */
    readonly applicationName: string,
  ) {}

  static async connect(address: GatehouseAddress, tally: Tally, applicationName: string): Promise<SoakClient> {
    const client = new pg.Client({
      host: address.host,
      port: address.port,
      user: 'postgres',
      database: 'postgres',
      application_name: applicationName,
      ssl: { secureContext: address.secureContext, servername: address.servername, minVersion: 'TLSv1.2' },
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    await client.connect();
    tally.sessionsOpened++;
    return new SoakClient(client, tally, applicationName);
  }

  /** Backend key data Gatehouse issued (its own, not the database's): what a cancel carries. */
  get cancelKey(): { processId: number; secretKey: number } {
    const { processID, secretKey } = this.pg as unknown as { processID: number; secretKey: number };
    return { processId: processID, secretKey };
  }

  /** One simple Query message holding `statements` statements; several give one result each. */
  async simple(text: string, statements = 1): Promise<pg.QueryResult[]> {
    this.tally.sentQuery(statements);
    const result = (await this.pg.query(text)) as pg.QueryResult | pg.QueryResult[];
    return Array.isArray(result) ? result : [result];
  }

  /** An extended-protocol query (Parse if not yet prepared on this connection, Bind, Execute, Sync). */
  extended(text: string, values: readonly unknown[], name?: string): Promise<pg.QueryResult> {
    // node-postgres falls back to a simple Query when there are no parameters and no name.
    if (values.length === 0 && name === undefined) throw new Error('an extended query needs parameters or a name');
    this.tally.sentBind();
    return this.pg.query({ text, values: [...values], name });
  }

  copyIn(text: string): ReturnType<typeof copyFrom> {
    this.tally.sentQuery();
    return this.pg.query(copyFrom(text));
  }

  copyOut(text: string): ReturnType<typeof copyTo> {
    this.tally.sentQuery();
    return this.pg.query(copyTo(text));
  }

  /** Ends the session politely (Terminate); a broken connection is just destroyed. */
  async end(): Promise<void> {
    await this.pg.end().catch(() => this.destroy());
  }

  destroy(): void {
    (this.pg as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }
}

export function md5(text: string | Buffer): string {
  return createHash('md5').update(text).digest('hex');
}

/** The first value of the first row. */
export function firstValue(result: pg.QueryResult | undefined, column: string): unknown {
  return (result?.rows[0] as Record<string, unknown> | undefined)?.[column];
}
