// A real PostgreSQL for the tests, on a random loopback port, with TLS (a certificate from a test
// CA that is not Gatehouse's) and password authentication of the kind each test asks for.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import { registerSecret } from './secret-ledger.js';
import { makeTempDir } from './temp-dir.js';

export interface TestPostgres {
  readonly port: number;
  /** PEM of the CA that signed the server certificate (what Gatehouse's tls.ca_file points at). */
  readonly caPem: string;
  readonly caFile: string;
  readonly superuserPassword: string;
  readonly dir: string;
  /** A superuser connection straight to the database, over verified TLS. */
  connect(database?: string): Promise<pg.Client>;
  /** Runs statements as the superuser. */
  sql(text: string, database?: string): Promise<pg.QueryResult>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface TestPostgresOptions {
  /** pg_hba.conf lines; default: TLS-only scram-sha-256 from loopback. */
  readonly hba?: readonly string[];
  /** Names on the server certificate; default localhost and 127.0.0.1. */
  readonly dnsNames?: string[];
  readonly ipAddresses?: string[];
}

export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const temp = makeTempDir('pg');
  const ca = CertificateAuthority.create('Gatehouse tests: database CA');
  const server = ca.issueServerCertificate({
    commonName: 'localhost',
    dnsNames: options.dnsNames ?? ['localhost'],
    ipAddresses: options.ipAddresses ?? ['127.0.0.1'],
    ttlMs: 24 * 3600 * 1000,
  });
  const caFile = join(temp.path, 'db-ca.crt');
  writeFileSync(caFile, ca.certPem);
  const superuserPassword = randomBytes(12).toString('hex');
  registerSecret('password', 'superuser password of a test PostgreSQL', superuserPassword);
  registerSecret('private-key', 'server key of a test PostgreSQL', server.keyPem);
  const cluster = new PostgresCluster({
    dataDir: join(temp.path, 'pgdata'),
    port: 0,
    superuserPassword,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    hba: options.hba,
    settings: { max_connections: '300', fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  await cluster.start();
  const connect = async (database = 'postgres') => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: cluster.port,
      user: 'postgres',
      password: superuserPassword,
      database,
      ssl: { ca: ca.certPem, servername: undefined },
    });
    await client.connect();
    return client;
  };
  return {
    port: cluster.port,
    caPem: ca.certPem,
    caFile,
    superuserPassword,
    dir: temp.path,
    connect,
    async sql(text, database) {
      const client = await connect(database);
      try {
        return await client.query(text);
      } finally {
        await client.end();
      }
    },
    async stop() {
      await cluster.stop();
    },
    async start() {
      await cluster.start();
    },
  };
}
