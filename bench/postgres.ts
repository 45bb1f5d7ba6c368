// The benchmark's PostgreSQL: the same real server the tests start (test/support/postgres.ts),
// but with settings a benchmark needs that the tests' helper fixes otherwise: room for 1,000 idle
// sessions plus the load (max_connections), the whole pgbench data set in shared buffers, and its
// CA object, which also signs PgBouncer's client-facing certificate.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { CertificateAuthority } from '../src/ca/certificate-authority.js';
import { PostgresCluster } from '../src/embedded/postgres-cluster.js';
import { makeTempDir } from '../test/support/temp-dir.js';

export interface BenchPostgres {
  readonly port: number;
  /** Signed the server's certificate; clients verify the database (and PgBouncer) with it. */
  readonly ca: CertificateAuthority;
  readonly caFile: string;
  readonly password: string;
  /** A temporary directory for everything the run writes; removed by stop(). */
  readonly dir: string;
  connect(): Promise<pg.Client>;
  sql(text: string): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const temp = makeTempDir('bench');
  const ca = CertificateAuthority.create('Gatehouse bench: database CA');
  const server = ca.issueServerCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], ttlMs: 24 * 3600 * 1000 });
  const caFile = join(temp.path, 'db-ca.crt');
  writeFileSync(caFile, ca.certPem, { mode: 0o644 });
  const password = randomBytes(12).toString('hex');
  const cluster = new PostgresCluster({
    dataDir: join(temp.path, 'pgdata'),
    port: 0,
    superuserPassword: password,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    settings: {
      max_connections: '1200',
      shared_buffers: '512MB',
      max_wal_size: '4GB',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
    },
  });
  try {
    await cluster.start();
  } catch (error) {
    temp.remove();
    throw error;
  }
  const connect = async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', password, database: 'postgres', ssl: { ca: ca.certPem } });
    await client.connect();
    return client;
  };
  return {
    port: cluster.port,
    ca,
    caFile,
    password,
    dir: temp.path,
    connect,
    async sql(text) {
      const client = await connect();
      try {
        return await client.query(text);
      } finally {
        await client.end();
      }
    },
    async stop() {
      try {
        await cluster.stop();
      } finally {
        temp.remove();
      }
    },
  };
}
