// Where a database lives and how to verify it: the address to dial and the TLS settings to
// check its certificate with. Embedded databases register their address once they are up;
// later, cloud databases (Redshift's DescribeClusters) resolve theirs here too.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { DatabaseConfig, TlsMode } from '../config/types.js';
import { parseHostPort } from '../config/address.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';

export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: {
    readonly mode: TlsMode;
    /** PEM roots to verify against; absent means the system's. */
    readonly caPem?: string;
    /** The name the certificate must carry under verify-full. */
    readonly serverName: string;
  };
}

export interface TargetResolver {
  targetFor(database: DatabaseConfig): Promise<UpstreamTarget>;
}

export class ConfiguredTargets implements TargetResolver {
  private readonly caFiles = new Map<string, string>();

  /** `registered` holds targets Gatehouse learned at run time (embedded databases), by name. */
  constructor(private readonly registered: ReadonlyMap<string, UpstreamTarget> = new Map()) {}

  async targetFor(database: DatabaseConfig): Promise<UpstreamTarget> {
    const known = this.registered.get(database.name);
    if (known !== undefined) return known;
    if (database.uri === undefined) {
      throw new GatehouseError(ErrorCodes.UPSTREAM_UNREACHABLE, `database "${database.name}" has no address yet`, {
        sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
      });
    }
    const { host, port } = parseHostPort(database.uri, 5432);
    return {
      host,
      port,
      tls: {
        mode: database.tls.mode,
        caPem: database.tls.ca_file === undefined ? undefined : this.readCa(database.tls.ca_file),
        serverName: database.tls.server_name ?? host,
      },
    };
  }

  private readCa(path: string): string {
    let pem = this.caFiles.get(path);
    if (pem === undefined) {
      try {
        pem = readFileSync(path, 'utf8');
      } catch (error) {
        throw new GatehouseError(ErrorCodes.UPSTREAM_TLS, `cannot read the database CA file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, {
          sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
        });
      }
      this.caFiles.set(path, pem);
    }
    return pem;
  }
}

/** SNI must not carry an IP address (RFC 6066); the identity check still uses it. */
export function sniName(serverName: string): string | undefined {
  return isIP(serverName) === 0 ? serverName : undefined;
}
