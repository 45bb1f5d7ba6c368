// Gatehouse as the soak runs it: the real `gatehouse start` from dist/ as a process of its own
// (so its memory is its alone), with a config written here: one database over verify-full TLS,
// one role, one user, the audit trail in a file with query parameters, as production has it.
// Also issues the client certificate every soak session presents, as one shared TLS context.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { initAuthorities, loadAuthorities } from '../src/ca/authority-store.js';
import { freePort } from '../src/embedded/postgres-cluster.js';

export const SOAK_USER = 'soak';
export const SOAK_DATABASE = 'soak';
const PASSWORD_VARIABLE = 'GATEHOUSE_SOAK_PG_PASSWORD';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const GATEHOUSE_CLI = join(repoRoot, 'dist/cli/gatehouse.js');
const START_TIMEOUT_MS = 60_000;

export interface GatehouseStartOptions {
  readonly dir: string;
  readonly postgresPort: number;
  readonly dbCaFile: string;
  readonly password: string;
  /** Extra environment for the process. */
  readonly env?: Readonly<Record<string, string>>;
}

export class GatehouseProcess {
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly port: number,
    readonly webPort: number,
    /** The host CA: how clients verify Gatehouse. */
    readonly hostCaPem: string,
    /** Client certificate, key and host CA in one context, shared by every session. */
    readonly clientTls: tls.SecureContext,
    readonly auditFile: string,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    // A soak that dies or is interrupted must not leave Gatehouse running.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
  }

  static async start(options: GatehouseStartOptions): Promise<GatehouseProcess> {
    const dir = join(options.dir, 'gatehouse');
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const webPort = await freePort();
    const auditFile = join(dir, 'audit.jsonl');
    const configFile = writeConfig(dir, options, port, webPort, auditFile);
    const { hostCaPem, clientTls } = issueClientCertificate(join(dir, 'certs'));
    const logFile = join(dir, 'gatehouse.log');
    const log = openSync(logFile, 'a');
    const child = spawn(process.execPath, [GATEHOUSE_CLI, 'start', '--config', configFile], {
      cwd: repoRoot,
      env: { ...process.env, ...options.env, [PASSWORD_VARIABLE]: options.password },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    if (child.pid === undefined) throw new Error(`could not start ${GATEHOUSE_CLI}`);
    const gatehouse = new GatehouseProcess(child, child.pid, port, webPort, hostCaPem, clientTls, auditFile, logFile);
    await gatehouse.waitUntilReady();
    return gatehouse;
  }

  /** GET on the web listener (HTTPS, verified with the host CA): status and body. */
  get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = https.get({ host: '127.0.0.1', port: this.webPort, path, ca: this.hostCaPem, servername: 'localhost', timeout: 10_000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`GET ${path} took over 10 s`)));
      request.on('error', reject);
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, as an orchestrator stops it; resolves with the exit code (0: nothing was cut off). */
  async stop(): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** The end of Gatehouse's own log, for error messages. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (!this.running) throw new Error(`gatehouse start exited with code ${this.child.exitCode}; its log (${this.logFile}) ends with:\n${this.logTail()}`);
      const ready = await this.get('/readyz').catch(() => undefined);
      if (ready?.status === 200) return;
      if (Date.now() > deadline) {
        this.child.kill('SIGKILL');
        throw new Error(`Gatehouse was not ready within ${START_TIMEOUT_MS / 1000} s; its log (${this.logFile}) ends with:\n${this.logTail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function writeConfig(dir: string, options: GatehouseStartOptions, port: number, webPort: number, auditFile: string): string {
  const yaml = `version: v1
proxy:
  postgres_listen_addr: 127.0.0.1:${port}
  web_listen_addr: 127.0.0.1:${webPort}
  public_addr: localhost
  data_dir: ${dir}/data
  ca_dir: ${dir}/certs
  shutdown_grace: 5s
log: { level: warn }
audit: { output: ${auditFile}, log_query_parameters: true }
databases:
  - name: ${SOAK_DATABASE}
    uri: 127.0.0.1:${options.postgresPort}
    labels: { env: soak }
    tls: { mode: verify-full, ca_file: ${options.dbCaFile}, server_name: localhost }
    auth: { user: postgres, password_env: ${PASSWORD_VARIABLE} }
roles:
  - name: soak
    allow: { db_labels: { env: [soak] }, db_users: [postgres], db_names: [postgres] }
users:
  - name: ${SOAK_USER}
    roles: [soak]
`;
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** Creates the CAs before the daemon does (it finds and uses them) and signs the soak's client certificate. */
function issueClientCertificate(caDir: string): { hostCaPem: string; clientTls: tls.SecureContext } {
  initAuthorities(caDir, 'localhost');
  const authorities = loadAuthorities(caDir);
  const issued = authorities.userCa.issueClientCertificate({
    user: SOAK_USER,
    route: { database: SOAK_DATABASE, dbUser: 'postgres', dbName: 'postgres' },
    ttlMs: 24 * 3600 * 1000,
  });
  if (issued.keyPem === undefined) throw new Error('the user CA did not generate a client key');
  const hostCaPem = authorities.hostCa.certPem;
  return { hostCaPem, clientTls: tls.createSecureContext({ ca: hostCaPem, cert: issued.certPem, key: issued.keyPem, minVersion: 'TLSv1.2' }) };
}
