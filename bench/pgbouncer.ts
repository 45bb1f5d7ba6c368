// A PgBouncer of the benchmark's own, the pooler users would otherwise put in front of PostgreSQL:
// session mode, TLS on both sides (clients must use TLS; the database's certificate is verified
// in full), SCRAM with the database's own SCRAM secret in auth_file, so neither side derives keys
// from a password. It listens on a random loopback port with config files in the run's temporary
// directory; the system's pgbouncer service (Debian starts one on 6432) is never touched.
// PgBouncer refuses to run as root, so as root it is started with -u postgres.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, closeSync, constants, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import type { CertificateAuthority } from '../src/ca/certificate-authority.js';
import { freePort } from '../src/embedded/postgres-cluster.js';

export interface PgBouncerOptions {
  readonly dir: string;
  readonly postgresPort: number;
  readonly dbCaFile: string;
  /** Signs PgBouncer's client-facing certificate (the database's CA, so clients trust it the same way). */
  readonly ca: CertificateAuthority;
  readonly user: string;
  /** pg_authid.rolpassword of that user: a SCRAM-SHA-256 secret. */
  readonly scramSecret: string;
}

export interface PgBouncer {
  readonly pid: number;
  readonly port: number;
  readonly version: string;
  stop(): Promise<void>;
}

/** The pgbouncer binary on the PATH, or in the sbin directories Debian installs it to. */
export function findPgBouncer(): string | undefined {
  const directories = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const directory of directories) {
    if (directory === '') continue;
    const candidate = join(directory, 'pgbouncer');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function startPgBouncer(binary: string, options: PgBouncerOptions): Promise<PgBouncer> {
  const dir = join(options.dir, 'pgbouncer');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const port = await freePort();
  const server = options.ca.issueServerCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], ttlMs: 24 * 3600 * 1000 });
  const files = {
    ini: join(dir, 'pgbouncer.ini'),
    users: join(dir, 'userlist.txt'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
    log: join(dir, 'pgbouncer.log'),
  };
  writeFileSync(files.cert, server.certPem, { mode: 0o600 });
  writeFileSync(files.key, server.keyPem, { mode: 0o600 });
  writeFileSync(files.users, `"${options.user}" "${options.scramSecret}"\n`, { mode: 0o600 });
  writeFileSync(
    files.ini,
    [
      '[databases]',
      `* = host=127.0.0.1 port=${options.postgresPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${files.users}`,
      'pool_mode = session',
      'max_client_conn = 2000',
      'default_pool_size = 100',
      'client_tls_sslmode = require',
      `client_tls_cert_file = ${files.cert}`,
      `client_tls_key_file = ${files.key}`,
      'client_tls_protocols = tlsv1.2,tlsv1.3',
      'server_tls_sslmode = verify-full',
      `server_tls_ca_file = ${options.dbCaFile}`,
      'server_tls_protocols = tlsv1.2,tlsv1.3',
      'ignore_startup_parameters = extra_float_digits',
      'log_connections = 0',
      'log_disconnections = 0',
      'stats_period = 3600',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    for (const name of readdirSync(dir)) chownSync(join(dir, name), uid, gid);
  }
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? 'PgBouncer';
  const log = openSync(files.log, 'a');
  const child = spawn(binary, [...(asRoot ? ['-u', 'postgres'] : []), files.ini], { stdio: ['ignore', log, log] });
  closeSync(log);
  try {
    await waitForPort(port, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`PgBouncer did not start: ${(error as Error).message}; its log ends with:\n${tail(files.log)}`);
  }
  if (child.pid === undefined) throw new Error('PgBouncer has no process id');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid,
    port,
    version,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGTERM is PgBouncer's immediate shutdown.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after 15 s`);
}


function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}
