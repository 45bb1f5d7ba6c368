// A fault-injecting TCP relay on loopback, for the tests: put it between Gatehouse and a database
// (or between a client and Gatehouse) and the network misbehaves on demand, with real sockets and
// real kernels on both sides. A fault applies to connections accepted after it is set; `applyToOpen`
// turns it on for the connections already running (a link that dies mid-session).
//
//   pass       forward both ways (the default)
//   blackhole  accept and then say nothing and forward nothing, never close: a peer that vanished
//              without a FIN or RST, or a firewall that drops packets (Gatehouse's side sees a
//              silent, established connection)
//   delay      hold each chunk back `ms` before forwarding it, both ways, order kept
//   cut        forward `afterBytes` bytes (counted in `direction`) and then close both sides with a FIN
//   reset      like cut, but with a TCP RST (ECONNRESET on both sides); afterBytes 0 resets at accept
//   answer     do not dial the target at all: answer the first bytes whoever connects sends with
//              `bytes`, then say nothing more and record what they send (a fake server that, say,
//              answers 'N' to SSLRequest)
//
// Every connection records the first bytes it received from the side that connected (`received`,
// up to 64 KiB), so a test can assert exactly what a client sent before the relay closed on it.
import net from 'node:net';

export type Fault =
  | { readonly kind: 'pass' }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'cut'; readonly afterBytes: number; readonly direction?: Direction }
  | { readonly kind: 'reset'; readonly afterBytes?: number; readonly direction?: Direction }
  | { readonly kind: 'answer'; readonly bytes: Buffer };

/** Which bytes a cut or reset counts: from the connecting side, from the target, or both. */
export type Direction = 'to-target' | 'to-client' | 'both';

export interface RelayedConnection {
  readonly id: number;
  /** The side that connected to the relay (Gatehouse, when the relay stands in for a database). */
  readonly client: net.Socket;
  /** The connection to the target; undefined for `answer` and until it is dialled. */
  target: net.Socket | undefined;
  /** The first bytes the connecting side sent (capped at RECORD_LIMIT). */
  received: Buffer;
  bytesToTarget: number;
  bytesToClient: number;
  fault: Fault;
  closed: boolean;
}

const RECORD_LIMIT = 64 * 1024;

export class FaultRelay {
  /** Connections not yet closed on both sides. */
  readonly open = new Set<RelayedConnection>();
  /** Every connection ever accepted, oldest first. */
  readonly accepted: RelayedConnection[] = [];
  private fault: Fault = { kind: 'pass' };
  private nextId = 1;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(target: { host?: string; port: number }): Promise<FaultRelay> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new FaultRelay(server, (server.address() as net.AddressInfo).port, { host: target.host ?? '127.0.0.1', port: target.port });
  }

  /** host:port of the relay, for a database's `uri`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The fault for connections accepted from now on. */
  setFault(fault: Fault): void {
    this.fault = fault;
  }

  /** Switches every open connection to `fault` at once (only blackhole, cut and reset make sense here). */
  applyToOpen(fault: Fault): void {
    for (const connection of this.open) {
      connection.fault = fault;
      if (fault.kind === 'reset' && (fault.afterBytes ?? 0) === 0) this.reset(connection);
      else if (fault.kind === 'cut' && fault.afterBytes === 0) this.cut(connection);
    }
  }

  /** Resolves once the relay has accepted `count` connections in total. */
  async waitForAccepted(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.accepted.length < count) {
      if (Date.now() > deadline) throw new Error(`the fault relay accepted ${this.accepted.length} connections, not ${count}, within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    for (const connection of this.open) this.destroy(connection);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const connection: RelayedConnection = {
      id: this.nextId++,
      client,
      target: undefined,
      received: Buffer.alloc(0),
      bytesToTarget: 0,
      bytesToClient: 0,
      fault: this.fault,
      closed: false,
    };
    this.accepted.push(connection);
    this.open.add(connection);
    client.on('error', () => undefined);
    client.on('close', () => this.finish(connection));
    client.on('data', (chunk: Buffer) => {
      const first = connection.received.length === 0;
      if (connection.received.length < RECORD_LIMIT) connection.received = Buffer.concat([connection.received, chunk]).subarray(0, RECORD_LIMIT);
      if (first && connection.fault.kind === 'answer') client.write(connection.fault.bytes);
      this.forward(connection, chunk, 'to-target');
    });
    const fault = connection.fault;
    if (fault.kind === 'answer') return;
    if (fault.kind === 'reset' && (fault.afterBytes ?? 0) === 0) return this.reset(connection);
    if (fault.kind === 'blackhole') return;
    // Bytes from the client wait, paused, until the target answers the dial.
    client.pause();
    const target = net.connect({ host: this.target.host, port: this.target.port });
    connection.target = target;
    target.on('error', () => undefined);
    target.on('close', () => this.finish(connection));
    target.on('connect', () => client.resume());
    target.on('data', (chunk: Buffer) => this.forward(connection, chunk, 'to-client'));
    // A half-close is passed on as a half-close, unless a fault says otherwise.
    client.on('end', () => {
      if (connection.fault.kind === 'pass' || connection.fault.kind === 'delay') target.end();
    });
    target.on('end', () => {
      if (connection.fault.kind === 'pass' || connection.fault.kind === 'delay') client.end();
    });
  }

  private forward(connection: RelayedConnection, chunk: Buffer, direction: 'to-target' | 'to-client'): void {
    const fault = connection.fault;
    const destination = direction === 'to-target' ? connection.target : connection.client;
    if (connection.closed || destination === undefined) return;
    switch (fault.kind) {
      case 'answer':
      case 'blackhole':
        return;
      case 'delay':
        setTimeout(() => this.write(connection, destination, chunk, direction), fault.ms);
        return;
      case 'cut':
      case 'reset': {
        const counted = fault.direction ?? 'both';
        const budget = counted === 'both' || counted === direction ? (fault.afterBytes ?? 0) - this.counted(connection, counted) : chunk.length;
        if (budget >= chunk.length) return this.write(connection, destination, chunk, direction);
        if (budget > 0) this.write(connection, destination, chunk.subarray(0, budget), direction);
        if (fault.kind === 'cut') this.cut(connection);
        else this.reset(connection);
        return;
      }
      case 'pass':
        this.write(connection, destination, chunk, direction);
    }
  }

  private counted(connection: RelayedConnection, direction: Direction): number {
    if (direction === 'to-target') return connection.bytesToTarget;
    if (direction === 'to-client') return connection.bytesToClient;
    return connection.bytesToTarget + connection.bytesToClient;
  }

  private write(connection: RelayedConnection, destination: net.Socket, chunk: Buffer, direction: 'to-target' | 'to-client'): void {
    if (connection.closed) return;
    if (direction === 'to-target') connection.bytesToTarget += chunk.length;
    else connection.bytesToClient += chunk.length;
    destination.write(chunk);
  }

  /** Both sides get a FIN after what was already written. */
  private cut(connection: RelayedConnection): void {
    connection.fault = { kind: 'blackhole' };
    this.finish(connection);
  }

  /** One side is gone (or the link is cut): the other gets a FIN after what was already written. */
  private finish(connection: RelayedConnection): void {
    if (connection.closed) return;
    connection.client.end();
    connection.target?.end();
    setTimeout(() => this.destroy(connection), 1_000).unref();
    if (connection.client.destroyed && (connection.target?.destroyed ?? true)) this.destroy(connection);
  }

  /** Both sides get a RST. */
  private reset(connection: RelayedConnection): void {
    connection.fault = { kind: 'blackhole' };
    connection.client.resetAndDestroy();
    connection.target?.resetAndDestroy();
    this.destroy(connection);
  }

  private destroy(connection: RelayedConnection): void {
    if (connection.closed) return;
    connection.closed = true;
    this.open.delete(connection);
    connection.client.destroy();
    connection.target?.destroy();
  }
}
