// How the dialer reaches each database: through its SSH bastion when the database has an
// ssh_tunnel, directly over TCP otherwise. Decided per dial from the configuration in force, so
// sessions and cancel requests (which dial the same way) take the same path.
import type { Duplex } from 'node:stream';
import type { DatabaseConfig } from '../config/types.js';
import { tcpTransport, type DialOptions, type UpstreamTransport } from '../proxy/upstream-connector.js';
import type { SshTunnels } from './ssh-tunnels.js';

export class TunnelTransport implements UpstreamTransport {
  constructor(
    private readonly databases: () => readonly DatabaseConfig[],
    private readonly tunnels: SshTunnels,
    private readonly direct: UpstreamTransport = tcpTransport,
  ) {}

  open(options: DialOptions, signal: AbortSignal): Promise<Duplex> {
    const tunnel = this.databases().find((database) => database.name === options.databaseName)?.ssh_tunnel;
    if (tunnel === undefined) return this.direct.open(options, signal);
    return this.tunnels.open(
      tunnel,
      { databaseName: options.databaseName, host: options.target.host, port: options.target.port, timeoutMs: options.timeoutMs },
      signal,
    );
  }
}
