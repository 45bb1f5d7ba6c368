// Starts Gatehouse for the benchmark as a child process (bench/gatehouse-child.ts) with a config
// written here: one database (the bench PostgreSQL over verify-full TLS), one role, one user, the
// audit trail in a file as a production setup would have it. Issues the client certificate the
// load generators use, and talks to the child over IPC for its memory and session count.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initAuthorities, loadAuthorities } from '../src/ca/authority-store.js';
import { benchAllocator } from './allocator.js';

export type ChildRequest = { type: 'memory'; id: number } | { type: 'stop' };
export type ChildReply =
  | { type: 'ready'; port: number; gcExposed: boolean }
  | ({ type: 'memory'; id: number } & GatehouseMemory);

export interface GatehouseMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Sessions the daemon still holds. */
  readonly sessions: number;
}

export interface GatehouseClientFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface GatehouseStartOptions {
  readonly dir: string;
  readonly postgresPort: number;
  readonly dbCaFile: string;
  readonly password: string;
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeFlags?: readonly string[];
  /** Run this build instead of dist/ (bench/ab.ts); its own config, audit file and log are named after `name`. */
  readonly build?: { readonly name: string; readonly distDir: string };
}

export const BENCH_USER = 'bench';
export const BENCH_DATABASE = 'main';
const PASSWORD_VARIABLE = 'GATEHOUSE_BENCH_PG_PASSWORD';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const childScript = fileURLToPath(new URL('gatehouse-child.ts', import.meta.url));

export class GatehouseProcess {
  private nextRequest = 1;
  private readonly waiting = new Map<number, (memory: GatehouseMemory) => void>();
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly port: number,
    readonly client: GatehouseClientFiles,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (reply: ChildReply) => {
      if (reply.type !== 'memory') return;
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
  }

  static async start(options: GatehouseStartOptions): Promise<GatehouseProcess> {
    const dir = join(options.dir, 'gatehouse');
    mkdirSync(dir, { recursive: true });
    const configFile = writeConfig(dir, options);
    const client = issueClientFiles(dir);
    const logFile = join(dir, options.build === undefined ? 'gatehouse.log' : `gatehouse-${options.build.name}.log`);
    const log = openSync(logFile, 'a');
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--expose-gc', '--import', 'tsx', childScript, configFile], {
      cwd: repoRoot,
      env: { ...process.env, ...benchAllocator().env, [PASSWORD_VARIABLE]: options.password, ...(options.build === undefined ? {} : { GATEHOUSE_BENCH_DIST: options.build.distDir }) },
      stdio: ['ignore', log, log, 'ipc'],
    });
    closeSync(log);
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => fail('did not report ready within 60 s'), 60_000);
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`Gatehouse ${why}; its log (${logFile}) ends with:\n${tail(logFile)}`));
      };
      child.once('exit', (code, signal) => fail(`exited during start (code ${code}, signal ${signal})`));
      child.once('message', (reply: ChildReply) => {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        if (reply.type === 'ready') resolve(reply.port);
        else fail('answered something other than ready');
      });
    });
    if (child.pid === undefined) throw new Error('Gatehouse has no process id');
    return new GatehouseProcess(child, child.pid, port, client, logFile);
  }

  /** Memory after a full garbage collection, and the number of live sessions. */
  memory(): Promise<GatehouseMemory> {
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Gatehouse did not answer a memory request within 30 s')), 30_000);
      this.waiting.set(id, (memory) => {
        clearTimeout(timer);
        resolve(memory);
      });
      this.send({ type: 'memory', id });
    });
  }

  /** Asks the daemon to stop (which lets --cpu-prof write its profile), then makes sure it is gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  private send(request: ChildRequest): void {
    if (this.child.connected) this.child.send(request);
  }
}

function writeConfig(dir: string, options: GatehouseStartOptions): string {
  const yaml = `version: v1
proxy:
  postgres_listen_addr: 127.0.0.1:0
  web_listen_addr: 127.0.0.1:0
  public_addr: localhost
  data_dir: ${dir}/data
  ca_dir: ${dir}/certs
${workersLine()}log: { level: warn }
audit: { output: ${dir}/${options.build === undefined ? 'audit' : `audit-${options.build.name}`}.jsonl, log_query_parameters: true }
databases:
  - name: ${BENCH_DATABASE}
    uri: 127.0.0.1:${options.postgresPort}
    labels: { env: bench }
    tls: { mode: verify-full, ca_file: ${options.dbCaFile}, server_name: localhost }
    auth: { user: postgres, password_env: ${PASSWORD_VARIABLE} }
roles:
  - name: bench
    allow: { db_labels: { env: [bench] }, db_users: [postgres], db_names: [postgres] }
users:
  - name: ${BENCH_USER}
    roles: [bench]
`;
  const file = join(dir, options.build === undefined ? 'gatehouse.yaml' : `gatehouse-${options.build.name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

/**
 * proxy.workers for the measured Gatehouse: 1 (one process, the default) unless
 * GATEHOUSE_BENCH_WORKERS says otherwise. With more, CPU per query and memory cover the primary only.
 */
function benchWorkers(): number {
  const workers = Number(process.env.GATEHOUSE_BENCH_WORKERS ?? '1');
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new Error(`GATEHOUSE_BENCH_WORKERS must be a whole number from 1 to 64, not ${process.env.GATEHOUSE_BENCH_WORKERS}`);
  return workers;
}

/** The proxy.workers line, only when it is not the default 1: bench/ab.ts also runs builds older than the key. */
function workersLine(): string {
  const workers = benchWorkers();
  return workers === 1 ? '' : `  workers: ${workers}\n`;
}

/** Creates the CAs before the daemon does (it finds them), and a client certificate from the user CA. */
function issueClientFiles(dir: string): GatehouseClientFiles {
  const caDir = join(dir, 'certs');
  initAuthorities(caDir, 'localhost');
  const authorities = loadAuthorities(caDir);
  const issued = authorities.userCa.issueClientCertificate({
    user: BENCH_USER,
    route: { database: BENCH_DATABASE, dbUser: 'postgres', dbName: 'postgres' },
    ttlMs: 24 * 3600 * 1000,
  });
  if (issued.keyPem === undefined) throw new Error('the user CA did not generate a client key');
  const files = { caFile: join(dir, 'client-ca.crt'), certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') };
  writeFileSync(files.caFile, authorities.hostCa.certPem);
  writeFileSync(files.certFile, issued.certPem);
  writeFileSync(files.keyFile, issued.keyPem, { mode: 0o600 });
  return { ...files, caPem: authorities.hostCa.certPem, certPem: issued.certPem, keyPem: issued.keyPem };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}
