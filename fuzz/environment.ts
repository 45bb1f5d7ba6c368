// What the fuzzer runs against: a real PostgreSQL (the tests' own, test/support/postgres.ts) with
// an unprivileged role for Gatehouse to log in as, Gatehouse from dist/ as a subprocess in front of
// it (PROXY protocol optional from loopback, so those headers are parsed too), a valid client
// certificate from its user CA and one from a foreign CA. Everything lives in a temporary
// directory that stop() removes.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initAuthorities, loadAuthorities } from '../src/ca/authority-store.js';
import { CertificateAuthority } from '../src/ca/certificate-authority.js';
import { startTestPostgres, type TestPostgres } from '../test/support/postgres.js';
import { makeTempDir } from '../test/support/temp-dir.js';
import { DaemonProcess, GATEHOUSE_CLI } from './daemon-process.js';

export const FUZZ_USER = 'fuzz';
export const FUZZ_DATABASE = 'fuzz';
export const FUZZ_DB_USER = 'fuzzer';
export const FUZZ_DB_NAME = 'postgres';
const PASSWORD_VARIABLE = 'GATEHOUSE_FUZZ_PG_PASSWORD';

export interface ClientKeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface FuzzEnvironment {
  readonly postgres: TestPostgres;
  /** The host CA that signed the proxy's certificate: what clients verify Gatehouse with. */
  readonly hostCaPem: string;
  /** A certificate for FUZZ_USER to database FUZZ_DATABASE as FUZZ_DB_USER. */
  readonly client: ClientKeyPair;
  /** A certificate with the same names from a CA Gatehouse does not know. */
  readonly foreign: ClientKeyPair;
  /** The daemon's audit trail (audit.output). */
  readonly auditFile: string;
  readonly daemon: DaemonProcess;
  /** Starts a new daemon after a crash (same config, new port). */
  restartDaemon(): Promise<DaemonProcess>;
  stop(): Promise<void>;
}

export async function startEnvironment(): Promise<FuzzEnvironment> {
  if (!existsSync(GATEHOUSE_CLI)) throw new Error(`${GATEHOUSE_CLI} is missing: run "npm run build" first (npm run fuzz does)`);
  const temp = makeTempDir('fuzz');
  let postgres: TestPostgres | undefined;
  let daemon: DaemonProcess | undefined;
  try {
    postgres = await startTestPostgres();
    const password = randomBytes(12).toString('hex');
    // An unprivileged role: whatever mutated SQL reaches the database can only touch fuzz_t.
    await postgres.sql(
      `CREATE ROLE ${FUZZ_DB_USER} LOGIN PASSWORD '${password}'; CREATE TABLE fuzz_t (a int, b text); GRANT ALL ON fuzz_t TO ${FUZZ_DB_USER};`,
    );
    const caDir = join(temp.path, 'certs');
    initAuthorities(caDir, 'localhost');
    const authorities = loadAuthorities(caDir);
    const route = { database: FUZZ_DATABASE, dbUser: FUZZ_DB_USER, dbName: FUZZ_DB_NAME };
    const client = keyPair(authorities.userCa, route);
    const foreign = keyPair(CertificateAuthority.create('Not the Gatehouse user CA'), route);
    const configFile = writeConfig(temp.path, postgres);
    const env = { [PASSWORD_VARIABLE]: password };
    const upstreamPort = postgres.port;
    daemon = await DaemonProcess.start(configFile, env, upstreamPort);
    const environment = {
      postgres,
      hostCaPem: authorities.hostCa.certPem,
      client,
      foreign,
      auditFile: join(temp.path, 'audit.jsonl'),
      daemon,
      async restartDaemon() {
        await environment.daemon.stop();
        environment.daemon = await DaemonProcess.start(configFile, env, upstreamPort);
        return environment.daemon;
      },
      async stop() {
        await environment.daemon.stop();
        await postgres!.stop();
        rmSync(postgres!.dir, { recursive: true, force: true });
        temp.remove();
      },
    };
    return environment;
  } catch (error) {
    await daemon?.stop();
    await postgres?.stop();
    if (postgres !== undefined) rmSync(postgres.dir, { recursive: true, force: true });
    temp.remove();
    throw error;
  }
}

function keyPair(ca: CertificateAuthority, route: { database: string; dbUser: string; dbName: string }): ClientKeyPair {
  const issued = ca.issueClientCertificate({ user: FUZZ_USER, route, ttlMs: 24 * 3600 * 1000 });
  if (issued.keyPem === undefined) throw new Error('the CA did not generate a client key');
  return { certPem: issued.certPem, keyPem: issued.keyPem };
}

function writeConfig(dir: string, postgres: TestPostgres): string {
  // Short startup and drain timeouts: every connection the fuzzer leaves is closed by its own side
  // anyway; these only bound how long a connection Gatehouse failed to notice could linger.
  const yaml = `version: v1
proxy:
  postgres_listen_addr: 127.0.0.1:0
  web_listen_addr: 127.0.0.1:0
  public_addr: localhost
  data_dir: ${dir}/data
  ca_dir: ${dir}/certs
  startup_timeout: 5s
  shutdown_grace: 2s
  proxy_protocol: optional
  proxy_protocol_trusted_cidrs: [127.0.0.0/8]
log: { level: warn }
audit: { output: ${dir}/audit.jsonl, log_query_parameters: true }
databases:
  - name: ${FUZZ_DATABASE}
    uri: 127.0.0.1:${postgres.port}
    labels: { env: fuzz }
    tls: { mode: verify-full, ca_file: ${postgres.caFile}, server_name: localhost }
    auth: { user: ${FUZZ_DB_USER}, password_env: ${PASSWORD_VARIABLE} }
roles:
  - name: fuzz
    allow: { db_labels: { env: [fuzz] }, db_users: [${FUZZ_DB_USER}], db_names: [${FUZZ_DB_NAME}] }
users:
  - name: ${FUZZ_USER}
    roles: [fuzz]
`;
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, yaml);
  return file;
}
