// Every bastion connection of one Gatehouse, keyed by what makes a connection reusable: the same
// bastion (host, port), the same login (user, key) and the same trust (known_hosts file). Databases
// behind one bastion that share a key therefore share one SSH connection. Opened lazily by the
// first dial; the daemon closes them all when it stops.
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { SshTunnelConfig } from '../config/types.js';
import type { BackoffPolicy } from './backoff.js';
import { BastionConnection, type BastionStats, type ChannelRequest } from './bastion-connection.js';
import { bastionError } from './ssh-errors.js';

export interface SshTunnelsOptions {
  readonly logger: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly backoff?: BackoffPolicy;
}

export class SshTunnels {
  private readonly bastions = new Map<string, BastionConnection>();
  private closed = false;

  constructor(private readonly options: SshTunnelsOptions) {}

  /** A channel to the database through its bastion, ready for the Postgres SSLRequest. */
  open(tunnel: SshTunnelConfig, request: ChannelRequest, signal: AbortSignal): Promise<Duplex> {
    if (this.closed) return Promise.reject(bastionError({ kind: 'closed' }, tunnel, request.databaseName));
    const key = JSON.stringify([
      tunnel.host.toLowerCase(),
      tunnel.port,
      tunnel.user,
      tunnel.private_key_file,
      tunnel.known_hosts_file,
      tunnel.keepalive_interval_ms,
      tunnel.keepalive_count_max,
    ]);
    let bastion = this.bastions.get(key);
    if (bastion === undefined) {
      bastion = new BastionConnection({ tunnel, ...this.options });
      this.bastions.set(key, bastion);
    }
    return bastion.openChannel(request, signal);
  }

  /** One line per bastion: for tests, logs and metrics. */
  stats(): BastionStats[] {
    return [...this.bastions.values()].map((bastion) => bastion.stats());
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.bastions.values()].map((bastion) => bastion.close()));
  }
}
