// A real Gatehouse daemon for integration tests: its config is written as YAML and loaded by the
// real loader, it listens on a random loopback port, and its audit events are captured as the
// JSON lines it really writes. It logs at debug level through the production logger (with its
// redaction), and both streams also go to the run's log files, where the secret scan searches
// them for the secrets registered here (test/support/secret-ledger.ts).
import { Writable } from 'node:stream';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PinoAuditLog } from '../../src/audit/pino-audit-log.js';
import type { RouteToDatabase } from '../../src/ca/certificate-authority.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatehouseConfig } from '../../src/config/types.js';
import { Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/logging.js';
import { writeUsersFile, type StoredUser } from '../../src/users/users-file.js';
import { appendLog, registerSecret, runLogFile } from './secret-ledger.js';
import { makeTempDir } from './temp-dir.js';

export interface AuditEvent {
  event: string;
  [field: string]: unknown;
}

export interface ClientCertificate {
  certPem: string;
  keyPem: string;
}

export interface TestGatehouse {
  readonly daemon: Daemon;
  readonly port: number;
  readonly dir: string;
  /** The host CA: what clients verify the proxy with (sslrootcert). */
  readonly hostCaPem: string;
  readonly auditEvents: AuditEvent[];
  readonly logLines: string[];
  /** proxy.users_file (default <data_dir>/users.yaml): rewrite it to add users while running. */
  readonly usersFile: string;
  issue(user: string, route: RouteToDatabase, ttlMs?: number): ClientCertificate;
  /** Writes ca.crt, client.crt and client.key for psql into a new directory. */
  writeClientFiles(certificate: ClientCertificate, name: string): { dir: string; ca: string; cert: string; key: string };
  /** A pg client config for this proxy with the given certificate. */
  clientConfig(certificate: ClientCertificate, user: string, database: string): pg.ClientConfig;
  connect(certificate: ClientCertificate, user: string, database: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

/** `yamlBody` is everything after the proxy section: databases, roles, users, audit settings. */
export async function startTestGatehouse(yamlBody: string, proxyExtra = '', options: { storedUsers?: readonly StoredUser[] } = {}): Promise<TestGatehouse> {
  const temp = makeTempDir('gh');
  const yaml = [
    'version: v1',
    'proxy:',
    '  postgres_listen_addr: 127.0.0.1:0',
    '  web_listen_addr: 127.0.0.1:0',
    '  public_addr: localhost',
    `  data_dir: ${temp.path}/data`,
    `  ca_dir: ${temp.path}/certs`,
    proxyExtra,
    'log: { level: warn }',
    yamlBody,
  ].join('\n');
  const configFile = join(temp.path, 'gatehouse.yaml');
  writeFileSync(configFile, yaml);
  const config = parseConfig(yaml, configFile);
  const usersFile = config.proxy.users_file;
  if (options.storedUsers !== undefined) writeUsersFile(usersFile, options.storedUsers);
  for (const user of options.storedUsers ?? []) registerSecret('totp-seed', `TOTP seed of stored user ${user.name}`, user.totp_secret);
  registerDatabaseSecrets(config);
  const auditFile = runLogFile('gatehouse-audit');
  const logFile = runLogFile('gatehouse-log');
  const auditEvents: AuditEvent[] = [];
  const auditStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      appendLog(auditFile, chunk.toString('utf8'));
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') auditEvents.push(JSON.parse(line) as AuditEvent);
      callback();
    },
  });
  const logLines: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(chunk.toString('utf8'));
      appendLog(logFile, chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger('debug', logStream);
  const daemon = await Daemon.start({ config, logger, audit: new PinoAuditLog(config.audit, auditStream) });
  registerSecret('private-key', 'Gatehouse user CA key', daemon.authorities.userCa.keyPem);
  registerSecret('private-key', 'Gatehouse host CA key', daemon.authorities.hostCa.keyPem);
  registerSecret('private-key', 'Gatehouse proxy key', daemon.authorities.proxyServer.keyPem);
  const port = daemon.postgresAddress.port;
  const hostCaPem = daemon.authorities.hostCa.certPem;
  const clientConfig = (certificate: ClientCertificate, user: string, database: string): pg.ClientConfig => ({
    host: 'localhost',
    port,
    user,
    database,
    ssl: { ca: hostCaPem, cert: certificate.certPem, key: certificate.keyPem, servername: 'localhost' },
  });
  let clientFiles = 0;
  return {
    daemon,
    port,
    dir: temp.path,
    hostCaPem,
    auditEvents,
    logLines,
    usersFile,
    issue(user, route, ttlMs = 3600_000) {
      const issued = daemon.authorities.userCa.issueClientCertificate({ user, route, ttlMs });
      if (issued.keyPem === undefined) throw new Error('the CA did not generate a key');
      registerSecret('private-key', `client key of ${user}`, issued.keyPem);
      return { certPem: issued.certPem, keyPem: issued.keyPem };
    },
    writeClientFiles(certificate, name) {
      const dir = join(temp.path, `client-${name}-${clientFiles++}`);
      mkdirSync(dir, { recursive: true });
      const files = { dir, ca: join(dir, 'ca.crt'), cert: join(dir, 'client.crt'), key: join(dir, 'client.key') };
      writeFileSync(files.ca, hostCaPem);
      writeFileSync(files.cert, certificate.certPem);
      writeFileSync(files.key, certificate.keyPem, { mode: 0o600 });
      return files;
    },
    clientConfig,
    async connect(certificate, user, database) {
      const client = new pg.Client(clientConfig(certificate, user, database));
      await client.connect();
      return client;
    },
    async stop() {
      // Passwords a test put into the environment after the start are known by now.
      registerDatabaseSecrets(config);
      await daemon.stop();
      temp.remove();
    },
  };
}

/** The upstream passwords the config points at (password_env, password_file), for the secret scan. */
function registerDatabaseSecrets(config: GatehouseConfig): void {
  for (const database of config.databases) {
    const auth = database.auth;
    if (auth?.password_env !== undefined) registerSecret('password', `${auth.password_env} (database ${database.name})`, process.env[auth.password_env]);
    if (auth?.password_file !== undefined) {
      try {
        registerSecret('password', `${auth.password_file} (database ${database.name})`, readFileSync(auth.password_file, 'utf8').trim());
      } catch {
        // Not there (yet): a test of a missing password file.
      }
    }
  }
}

/** The error a connection attempt ends with; fails the test if the connection is accepted. */
export async function connectionRefusal(config: pg.ClientConfig): Promise<pg.DatabaseError> {
  const client = new pg.Client(config);
  try {
    await client.connect();
  } catch (error) {
    return error as pg.DatabaseError;
  } finally {
    await client.end().catch(() => undefined);
  }
  throw new Error(`the connection to database ${String(config.database)} was accepted`);
}
