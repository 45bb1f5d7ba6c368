// The Postgres wire-protocol listener: accepts TCP connections and gives each its own Session.
// It keeps the set of live sessions so the daemon can count, end and drain them.
import net from 'node:net';
import type { Logger } from 'pino';
import { Session, type SessionDependencies } from './session.js';

export class PostgresListener {
  private readonly server: net.Server;
  private readonly sessions = new Set<Session>();

  constructor(
    private readonly deps: SessionDependencies,
    private readonly logger: Logger,
  ) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (error) => this.logger.error({ err: error }, 'postgres listener error'));
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, backlog: 1024 }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  get activeSessions(): ReadonlySet<Session> {
    return this.sessions;
  }

  /** Stops accepting new connections; running sessions go on. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    // Per socket rather than per server so that a changed proxy.tcp_keepalive applies to new clients.
    const keepAliveMs = this.deps.config().proxy.tcp_keepalive_ms;
    if (keepAliveMs > 0) socket.setKeepAlive(true, keepAliveMs);
    const session = new Session(socket, this.deps);
    this.sessions.add(session);
    session
      .run()
      .catch((error: unknown) => this.logger.error({ err: error, session_id: session.id }, 'session crashed'))
      .finally(() => this.sessions.delete(session));
  }
}
