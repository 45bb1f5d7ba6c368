// Opens an authenticated connection to a real database: TCP with a timeout, TLS as the database's
// `tls` block says (verify-full unless configured otherwise, never a fallback to plaintext), then
// the login. TLS sessions are resumed per database, which saves a full handshake on every new
// connection after the first, and the TLS context (the parsed CA roots) is built once per set of
// roots rather than per connection, which cost about a tenth of a new connection's CPU.
// The transport under TLS is pluggable: TCP by default, or a channel through an SSH bastion
// (src/ssh/); TLS to the database runs end to end through either, verified the same way.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { sslRequest } from '../protocol/startup-message.js';
import { serverIdentityError } from './server-identity.js';
import { describeSocketError } from './socket-error-text.js';
import { sniName, type UpstreamTarget } from './upstream-targets.js';

export interface DialOptions {
  readonly databaseName: string;
  readonly target: UpstreamTarget;
  readonly timeoutMs: number;
  /** TCP keepalive idle time (proxy.tcp_keepalive); 0: off; default 60 s. */
  readonly keepAliveMs?: number;
  /** Called once the transport is up and the database said yes to SSLRequest, before the TLS handshake (connect timings). */
  readonly onDialed?: () => void;
}

/** How bytes reach the database before TLS: a TCP connection, or a channel through an SSH bastion. */
export interface UpstreamTransport {
  open(options: DialOptions, signal: AbortSignal): Promise<Duplex>;
}

export const tcpTransport: UpstreamTransport = { open: (options, signal) => dialTcp(options, signal) };

export class UpstreamDialer {
  constructor(private readonly transport: UpstreamTransport = tcpTransport) {}

  /** Last TLS session per database, for resumption. */
  private readonly sessions = new Map<string, Buffer>();
  /** One TLS context per CA bundle (the PEM text; '' for the system roots). */
  private readonly contexts = new Map<string, tls.SecureContext>();

  /** A TLS connection to the database, verified per its mode, ready for a StartupMessage. */
  async connect(options: DialOptions, signal: AbortSignal): Promise<tls.TLSSocket> {
    const { target } = options;
    const address = `${target.host}:${target.port}`;
    const raw = await this.transport.open(options, signal);
    // Abandoning the attempt (deadline, shutdown) closes the socket at whatever step it is.
    const abandon = () => raw.destroy();
    signal.addEventListener('abort', abandon, { once: true });
    try {
      await negotiateTls(raw, options.databaseName, address);
      options.onDialed?.();
      return await this.startTls(raw, options, address);
    } catch (error) {
      raw.destroy();
      throw error;
    } finally {
      signal.removeEventListener('abort', abandon);
    }
  }

  private startTls(raw: Duplex, options: DialOptions, address: string): Promise<tls.TLSSocket> {
    const { tls: settings } = options.target;
    const sessionKey = `${options.databaseName}\0${address}`;
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        socket: raw,
        servername: sniName(settings.serverName),
        secureContext: this.contextFor(settings.caPem),
        rejectUnauthorized: settings.mode !== 'insecure',
        session: this.sessions.get(sessionKey),
        // verify-full's name is checked on secureConnect below, before the socket is handed on.
        checkServerIdentity: () => undefined,
      });
      const restoreDetailedCertificate = skipDetailedPeerCertificate(socket);
      socket.on('session', (session: Buffer) => this.sessions.set(sessionKey, session));
      const onError = (error: Error) => {
        restoreDetailedCertificate();
        this.sessions.delete(sessionKey);
        reject(
          new GatehouseError(
            ErrorCodes.UPSTREAM_TLS,
            `TLS to database "${options.databaseName}" at ${address} failed under ${settings.mode}: ${error.message}`,
            {
              sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
              hint: 'The database\'s certificate does not match what Gatehouse is configured to trust (databases[].tls.ca_file, server_name). Tell the Gatehouse administrator.',
              cause: error,
            },
          ),
        );
      };
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        restoreDetailedCertificate();
        // The chain was verified by OpenSSL against the configured roots (rejectUnauthorized);
        // under verify-full the certificate must also name the server.
        const nameError = settings.mode === 'verify-full' ? serverIdentityError(socket.getPeerX509Certificate(), settings.serverName) : undefined;
        if (nameError !== undefined) {
          socket.destroy();
          onError(nameError);
          return;
        }
        resolve(socket);
      });
    });
  }

  private contextFor(caPem: string | undefined): tls.SecureContext {
    const key = caPem ?? '';
    let context = this.contexts.get(key);
    if (context === undefined) {
      context = tls.createSecureContext({ ca: caPem, minVersion: 'TLSv1.2' });
      // CA files are few and rarely change; a bound keeps a churning config from growing this forever.
      if (this.contexts.size >= 64) this.contexts.clear();
      this.contexts.set(key, context);
    }
    return context;
  }
}

/**
 * On a verified handshake tls.connect calls getPeerCertificate(true) for checkServerIdentity, which
 * copies and re-parses every certificate of the chain (see server-identity.ts); the name is checked
 * from getPeerX509Certificate() instead, so until the handshake is over that call gets an empty
 * description. Returns the function that puts the real method back.
 */
function skipDetailedPeerCertificate(socket: tls.TLSSocket): () => void {
  Object.defineProperty(socket, 'getPeerCertificate', { value: () => ({}), configurable: true, writable: true });
  return () => {
    Reflect.deleteProperty(socket, 'getPeerCertificate');
  };
}

function dialTcp(options: DialOptions, signal: AbortSignal): Promise<net.Socket> {
  const { target } = options;
  const address = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    const fail = (reason: string, cause?: unknown) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(
        new GatehouseError(ErrorCodes.UPSTREAM_UNREACHABLE, `cannot reach database "${options.databaseName}" at ${address}: ${reason}`, {
          sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
          hint: 'The database may be down or unreachable from Gatehouse; try again later or tell the Gatehouse administrator.',
          cause,
        }),
      );
    };
    const onAbort = () => fail('the connection attempt was abandoned');
    const timer = setTimeout(() => fail(`no answer within ${options.timeoutMs} ms`), options.timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (error: NodeJS.ErrnoException) => fail(describeSocketError(error), error));
    socket.once('connect', () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      // proxy.tcp_keepalive; 0 turns keepalive off.
      const keepAliveMs = options.keepAliveMs ?? 60_000;
      if (keepAliveMs > 0) socket.setKeepAlive(true, keepAliveMs);
      resolve(socket);
    });
  });
}

/** Sends SSLRequest and reads the one-byte answer; anything but 'S' is a refusal. */
function negotiateTls(socket: Duplex, databaseName: string, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const refuse = (message: string) => {
      cleanup();
      reject(new GatehouseError(ErrorCodes.UPSTREAM_TLS, message, { sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH }));
    };
    const onData = (chunk: Buffer) => {
      socket.pause();
      if (chunk.length !== 1) {
        // Bytes after the answer would have to be read as TLS: the mirror image of CVE-2021-3935.
        return refuse(`database "${databaseName}" at ${address} sent unexpected data in answer to SSLRequest`);
      }
      if (chunk[0] !== 0x53) {
        return refuse(`database "${databaseName}" at ${address} does not accept TLS; Gatehouse never logs in to a database in plaintext`);
      }
      cleanup();
      resolve();
    };
    const onError = (error: Error) => refuse(`database "${databaseName}" at ${address} failed during TLS negotiation: ${error.message}`);
    const onClose = () => refuse(`database "${databaseName}" at ${address} closed the connection during TLS negotiation`);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.write(sslRequest());
  });
}
