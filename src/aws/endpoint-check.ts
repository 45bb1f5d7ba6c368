// What AWS says a cluster's (or workgroup's) endpoint is, against what the config says. The address
// Gatehouse dials and sends a minted password to is always one AWS vouches for: a configured uri
// must be that endpoint (or the cluster's custom domain name), so a forged or mistyped database
// entry cannot make Gatehouse hand IAM credentials to some other server.
import { parseHostPort } from '../config/address.js';
import { DEFAULT_REDSHIFT_PORT } from '../config/defaults.js';
import type { DatabaseConfig } from '../config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';

export interface AwsEndpoint {
  readonly host: string;
  readonly port: number;
  /** Other names AWS knows for the same endpoint (a custom domain name). */
  readonly aliases: readonly string[];
}

/** The address to dial: the configured uri when it is AWS's endpoint, else AWS's endpoint itself. */
export function checkedAddress(database: DatabaseConfig, actual: AwsEndpoint, what: string): { host: string; port: number } {
  if (database.uri === undefined) return { host: actual.host, port: actual.port };
  const configured = parseHostPort(database.uri, DEFAULT_REDSHIFT_PORT);
  const names = [actual.host, ...actual.aliases].map(normalizeHost);
  if (names.includes(normalizeHost(configured.host)) && configured.port === actual.port) return configured;
  throw new GatehouseError(
    ErrorCodes.AWS_ENDPOINT_MISMATCH,
    `the uri of database "${database.name}" (${configured.host}:${configured.port}) is not the endpoint of ${what} (${actual.host}:${actual.port}); Gatehouse does not send credentials to it`,
    {
      sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
      hint: `Correct or remove uri for database "${database.name}" in the Gatehouse config: without it Gatehouse uses the endpoint AWS reports.`,
    },
  );
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}
