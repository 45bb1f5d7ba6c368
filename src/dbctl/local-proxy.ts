// `dbctl proxy`: a listener on this machine for clients that cannot present a client certificate
// (GUI clients, some drivers). Each local connection is plaintext and password-less on loopback;
// dbctl opens a mutual-TLS connection to Gatehouse for it with the database certificate
// (SSLRequest, then TLS verified against the stored host CA and the proxy's host name), forwards
// the client's StartupMessage (user/database replaced when asked) and relays bytes both ways.
// SSLRequest/GSSENCRequest get 'N'; a CancelRequest goes to Gatehouse over TLS with the
// certificate, so psql's Ctrl+C works. When dbctl cannot connect for the client, the client gets
// a Postgres ErrorResponse saying why and what to do, not a closed socket.
import net from 'node:net';
import type tls from 'node:tls';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { SSL_REFUSE, errorResponse } from '../protocol/backend-messages.js';
import { cancelRequest, startupMessage } from '../protocol/startup-message.js';
import type { StartupPacket } from '../protocol/startup.js';
import { ClientClosedError, StartupReader } from '../proxy/startup-reader.js';
import { dialGatehouse } from './gatehouse-dialer.js';

export interface ProxyCredentials {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface StartupRewrite {
  dbUser?: string;
  dbName?: string;
}

export interface LocalProxyOptions {
  /** The Gatehouse database name, for messages. */
  database: string;
  /** Gatehouse's Postgres listener. */
  gatehouse: { host: string; port: number };
  /** The host CA the proxy's server certificate must chain to. */
  caPem: string;
  /** Read for every connection, so a certificate renewed meanwhile ("dbctl login DB") is picked up. */
  credentials: () => ProxyCredentials;
  rewrite: StartupRewrite;
  /** What the person runs to get a new database certificate. */
  renewCommand: string;
  connectTimeoutMs?: number;
  now?: () => number;
  /** One line per noteworthy event (refusals, failed cancels), for the terminal dbctl runs in. */
  log?: (line: string) => void;
}

const TLS_HANDSHAKE_RECORD = 0x16;
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** How long a half-closed side may linger after the other side closed. */
const LINGER_MS = 5_000;

type CancelPacket = Extract<StartupPacket, { kind: 'cancel-request' }>;

export class LocalProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly options: LocalProxyOptions) {
    this.server = net.createServer((socket) => void this.serve(socket));
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  get activeConnections(): number {
    return this.sockets.size;
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    return closed;
  }

  private track<T extends net.Socket>(socket: T): T {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    return socket;
  }

  private async serve(local: net.Socket): Promise<void> {
    this.track(local);
    const reader = new StartupReader(local);
    try {
      await reader.waitForBytes(1);
      if (reader.firstByte === TLS_HANDSHAKE_RECORD) {
        // A client speaking direct TLS cannot read a plaintext ErrorResponse.
        this.log('a local client started TLS directly; connect to dbctl proxy with sslmode=disable (the connection to Gatehouse is encrypted)');
        local.destroy();
        return;
      }
      for (;;) {
        const packet = await reader.next();
        switch (packet.kind) {
          case 'ssl-request':
          case 'gssenc-request':
            local.write(SSL_REFUSE);
            continue;
          case 'cancel-request':
            reader.detach();
            local.destroy();
            await this.forwardCancel(packet);
            return;
          case 'startup': {
            const upstream = await this.openGatehouse();
            const pipelined = reader.detach();
            upstream.write(forwardedStartup(packet.minorVersion, rewriteStartupParameters(packet.parameters, this.options.rewrite)));
            if (pipelined.length > 0) upstream.write(pipelined);
            relay(local, upstream);
            return;
          }
        }
      }
    } catch (error) {
      this.refuse(local, error);
    }
  }

  /** Sends the one ErrorResponse a local client gets when dbctl could not connect it. */
  private refuse(local: net.Socket, error: unknown): void {
    if (local.destroyed || error instanceof ClientClosedError) {
      local.destroy();
      return;
    }
    const refusal =
      error instanceof GatehouseError
        ? error
        : new GatehouseError(ErrorCodes.INTERNAL, `dbctl proxy failed: ${error instanceof Error ? error.message : String(error)}`, {
            sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
          });
    this.log(`refused a local connection: ${refusal.message}`);
    local.end(errorResponse({ severity: 'FATAL', sqlState: refusal.sqlState, message: refusal.message, hint: refusal.hint }));
  }

  private async forwardCancel(packet: CancelPacket): Promise<void> {
    try {
      const upstream = await this.openGatehouse();
      upstream.end(cancelRequest(packet.processId, packet.secretKey));
      upstream.resume();
      setTimeout(() => upstream.destroy(), this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS).unref();
    } catch (error) {
      this.log(`could not forward a cancel request to Gatehouse: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** A mutual-TLS connection to Gatehouse's Postgres listener, verified against the stored host CA and host name. */
  private async openGatehouse(): Promise<tls.TLSSocket> {
    const { database, gatehouse } = this.options;
    let credentials: ProxyCredentials;
    try {
      credentials = this.options.credentials();
    } catch (error) {
      throw new GatehouseError(ErrorCodes.CERT_INVALID, `dbctl has no usable certificate for database ${database}: ${error instanceof Error ? error.message : String(error)}`, {
        sqlState: SqlState.INVALID_AUTHORIZATION,
        hint: `run "${this.options.renewCommand}"; this proxy uses the new certificate for the next connection`,
      });
    }
    const now = (this.options.now ?? Date.now)();
    if (credentials.notAfter.getTime() <= now) {
      throw new GatehouseError(ErrorCodes.CERT_EXPIRED, `dbctl's certificate for database ${database} expired at ${credentials.notAfter.toISOString()}`, {
        sqlState: SqlState.INVALID_AUTHORIZATION,
        hint: `run "${this.options.renewCommand}" in another terminal; this proxy uses the new certificate for the next connection`,
      });
    }
    return dialGatehouse({
      host: gatehouse.host,
      port: gatehouse.port,
      caPem: this.options.caPem,
      certPem: credentials.certPem,
      keyPem: credentials.keyPem,
      timeoutMs: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      track: (socket) => this.track(socket),
    });
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

/**
 * The client's startup parameters with the user and database replaced as asked. When only the
 * user is replaced and the client's database was its own user name (what libpq sends when no
 * database is named), the database is left out so Gatehouse applies the certificate's default.
 */
export function rewriteStartupParameters(parameters: ReadonlyMap<string, string>, rewrite: StartupRewrite): Map<string, string> {
  const result = new Map(parameters);
  if (rewrite.dbUser !== undefined) {
    if (rewrite.dbName === undefined && parameters.get('database') === parameters.get('user')) result.delete('database');
    result.set('user', rewrite.dbUser);
  }
  if (rewrite.dbName !== undefined) result.set('database', rewrite.dbName);
  return result;
}

/** Whether a --bind address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** The StartupMessage for Gatehouse, with the protocol version the client asked for (Gatehouse negotiates it). */
function forwardedStartup(minorVersion: number, parameters: ReadonlyMap<string, string>): Buffer {
  const message = startupMessage(parameters);
  message.writeInt32BE((3 << 16) | minorVersion, 4);
  return message;
}

/** Bytes both ways with backpressure; an end on one side ends the other, an error destroys both. */
function relay(local: net.Socket, upstream: tls.TLSSocket): void {
  local.pipe(upstream);
  upstream.pipe(local);
  local.resume();
  const destroyBoth = () => {
    local.destroy();
    upstream.destroy();
  };
  local.on('error', destroyBoth);
  upstream.on('error', destroyBoth);
  const lingerThenDestroy = (other: net.Socket) => () => {
    if (!other.destroyed) {
      other.end();
      setTimeout(() => other.destroy(), LINGER_MS).unref();
    }
  };
  local.once('close', lingerThenDestroy(upstream));
  upstream.once('close', lingerThenDestroy(local));
}
