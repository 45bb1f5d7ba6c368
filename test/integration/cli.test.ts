// The real executables, run the way a new user runs them: `gatehouse config check` on a good and a
// broken file, then `gatehouse start` as a child process with an embedded PostgreSQL, the two
// commands it prints run exactly as printed (from the repository root, through a shell), a pg
// client with the files `certs issue` wrote, the audit lines on the daemon's stdout, and SIGTERM
// taking the daemon and its PostgreSQL down. Needs the build in dist/ (`npm run build`; in CI
// `npm ci` runs it as `prepare`).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/embedded/postgres-cluster.js';
import { runCommand, type Finished } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GATEHOUSE = join(REPO_ROOT, 'dist/cli/gatehouse.js');
/** The first start runs initdb (5-15 s on a quiet machine); a loaded CI runner can take much longer. */
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 30_000;

/** Runs a command from the repository root; see test/support/run-command.ts. */
function run(command: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS, options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  return runCommand(command, args, { cwd: REPO_ROOT, timeoutMs, ...options });
}

/** A printed command line, run as the person would paste it: through a shell, from the repository root. */
function runInShell(line: string, options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  return run('/bin/sh', ['-c', line], COMMAND_TIMEOUT_MS, options);
}

async function commandExists(command: string): Promise<boolean> {
  try {
    return (await run(command, ['--version'])).code === 0;
  } catch {
    return false;
  }
}

const psqlAvailable = await commandExists('psql');

/** `gatehouse start` as a child process, its output collected as it arrives. */
class DaemonProcess {
  stdout = '';
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(configFile: string) {
    this.child = spawn(process.execPath, [GATEHOUSE, 'start', '--config', configFile], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolvePromise) => {
      this.child.once('close', (code, signal) => {
        this.exit = { code, signal };
        resolvePromise(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Resolves once `found` returns a value; fails early if the daemon exits, and past the deadline. */
  async waitFor<T>(what: string, found: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (!this.running) throw new Error(`gatehouse exited (${JSON.stringify(this.exit)}) before ${what}\n${this.transcript()}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms\n${this.transcript()}`);
      await sleep(100);
    }
  }

  /** Waits for the process to end; false if it is still running after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolvePromise) => (timer = setTimeout(() => resolvePromise(false), timeoutMs)));
    const result = await Promise.race([this.exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** The audit records among the stdout lines (the rest is the human-readable start banner). */
  auditEvents(): AuditRecord[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as AuditRecord)
      .filter((record) => record.stream === 'audit');
  }

  transcript(): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`;
  }
}

interface AuditRecord {
  stream: string;
  event: string;
  [field: string]: unknown;
}

interface NextSteps {
  /** Present until alice has a password: `gatehouse users set-password alice …`. */
  setPassword: string | undefined;
  dbctlLogin: string;
  psqlService: string;
  certsIssue: string;
  psql: string;
  conninfo: Record<string, string>;
  embeddedPort: number;
}

/** Reads the "Next, in another terminal" block: the commands, the psql conninfo and the embedded port. */
function parseNextSteps(stdout: string): NextSteps | undefined {
  const block = stdout.indexOf('Next, in another terminal');
  if (block < 0 || !stdout.includes('Stop with Ctrl+C.', block)) return undefined;
  const lines = stdout.slice(block).split('\n').map((line) => line.trim());
  const setPassword = lines.find((line) => line.startsWith('node dist/cli/gatehouse.js users set-password '));
  const dbctlLogin = lines.find((line) => line.startsWith('node dist/cli/dbctl.js login '));
  const psqlService = lines.find((line) => line.startsWith('psql "service='));
  const certsIssue = lines.find((line) => line.startsWith('node dist/cli/gatehouse.js certs issue '));
  const psql = lines.find((line) => line.startsWith('psql "host='));
  const embedded = /database local: embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(stdout);
  if (dbctlLogin === undefined || psqlService === undefined || certsIssue === undefined || psql === undefined || embedded === null) {
    throw new Error(`the start banner lacks a command or the embedded port:\n${stdout}`);
  }
  return { setPassword, dbctlLogin, psqlService, certsIssue, psql, conninfo: parseConninfo(psql), embeddedPort: Number(embedded[1]) };
}

/** `psql "k=v k='v w' ..."` → { k: v }: the shell's double quotes first, then libpq's quoting. */
function parseConninfo(psqlLine: string): Record<string, string> {
  const quoted = /^psql "((?:[^"\\]|\\.)*)"$/.exec(psqlLine);
  if (quoted === null) throw new Error(`not a psql "conninfo" line: ${psqlLine}`);
  const conninfo = (quoted[1] ?? '').replace(/\\(["\\$`])/g, '$1');
  const fields: Record<string, string> = {};
  for (const match of conninfo.matchAll(/(\w+)=('(?:[^'\\]|\\.)*'|\S+)/g)) {
    const raw = match[2] ?? '';
    fields[match[1] ?? ''] = raw.startsWith("'") ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return fields;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether anything accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolvePromise(false);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

/** The demo config of config/gatehouse.yaml, with its ports and directories moved into `dir`. */
function demoConfig(dir: string, port: number): string {
  return `version: v1
proxy:
  postgres_listen_addr: 127.0.0.1:${port}
  web_listen_addr: 127.0.0.1:0
  public_addr: localhost
  data_dir: ${dir}/data
  ca_dir: ${dir}/certs
log: { level: info }
audit: { output: stdout, log_query_parameters: true }
databases:
  - name: local
    description: Embedded PostgreSQL started by Gatehouse
    protocol: postgres
    kind: embedded
    labels: { env: dev }
roles:
  - name: access
    allow:
      db_labels: { env: [dev] }
      db_users: ["{{internal.db_users}}"]
      db_names: ["{{internal.db_names}}", postgres]
    options: { max_session_ttl: 8h }
users:
  - name: alice
    roles: [access]
    traits: { db_users: [postgres], db_names: [postgres] }
`;
}

const temp = makeTempDir('cli');
const configFile = join(temp.path, 'gatehouse.yaml');
const brokenFile = join(temp.path, 'broken.yaml');
let listenPort = 0;
let daemon: DaemonProcess | undefined;
let steps: NextSteps | undefined;
let postmasterPid: number | undefined;

beforeAll(async () => {
  if (!existsSync(GATEHOUSE)) throw new Error(`${GATEHOUSE} is missing: run \`npm run build\` first`);
  listenPort = await freePort();
  const good = demoConfig(temp.path, listenPort);
  writeFileSync(configFile, good);
  // Two mistakes a person makes: a misspelt key, and a user given a role that does not exist.
  const broken = good.replace('    kind: embedded\n', '    kind: embedded\n    lables: { env: dev }\n').replace('roles: [access]', 'roles: [access, admin]');
  writeFileSync(brokenFile, broken);
});

afterAll(async () => {
  try {
    if (daemon?.running) {
      daemon.signal('SIGTERM');
      if (!(await daemon.waitForExit(STOP_TIMEOUT_MS))) {
        daemon.signal('SIGKILL');
        await daemon.waitForExit(5_000);
      }
    }
    // A daemon that died hard leaves its PostgreSQL behind; stop that one too (immediate shutdown).
    if (postmasterPid !== undefined && isAlive(postmasterPid)) {
      process.kill(postmasterPid, 'SIGQUIT');
      for (let i = 0; i < 50 && isAlive(postmasterPid); i++) await sleep(100);
    }
  } finally {
    temp.remove();
  }
}, STOP_TIMEOUT_MS + 20_000);

/** Where `text` has `needle`, as FILE:LINE:COL the way config check prints it (1-based). */
function positionOf(file: string, text: string, needle: string): string {
  const offset = text.indexOf(needle);
  if (offset < 0) throw new Error(`${needle} is not in the file`);
  const before = text.slice(0, offset).split('\n');
  return `${file}:${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

describe('gatehouse config check', () => {
  it('accepts the demo config, exits 0 and says it is valid', async () => {
    const result = await run(process.execPath, [GATEHOUSE, 'config', 'check', '--config', configFile]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${configFile} is valid: 1 database, 1 role, 1 user\n`);
    expect(result.code).toBe(0);
  });

  it('rejects a broken copy with exit code 1 and one FILE:LINE:COL line per problem', async () => {
    const result = await run(process.execPath, [GATEHOUSE, 'config', 'check', '--config', brokenFile]);
    const text = readFileSync(brokenFile, 'utf8');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      `${positionOf(brokenFile, text, 'lables')}: databases[0].lables: unknown key "lables"; did you mean "labels"? (allowed here: name, description, protocol, kind, uri, labels, tls, auth, embedded, aws, ssh_tunnel)`,
      `${positionOf(brokenFile, text, 'admin]')}: users[0].roles[1]: role "admin" is not defined in roles (defined: access)`,
      `${brokenFile} is not valid: 2 problems`,
    ]);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(1);
  });

  it('makes `start` refuse the broken copy the same way, exiting 1 without starting anything', async () => {
    const result = await run(process.execPath, [GATEHOUSE, 'start', '--config', brokenFile]);
    const text = readFileSync(brokenFile, 'utf8');
    expect(result.stderr).toContain(`${positionOf(brokenFile, text, 'admin]')}: users[0].roles[1]: role "admin" is not defined in roles`);
    expect(result.stdout).not.toContain('Next, in another terminal');
    expect(existsSync(join(temp.path, 'certs'))).toBe(false);
    expect(result.code).toBe(1);
  });
});

describe('gatehouse start with an embedded PostgreSQL', () => {
  beforeAll(async () => {
    const started = new DaemonProcess(configFile);
    daemon = started;
    steps = await started.waitFor('"Next, in another terminal" block on stdout', () => parseNextSteps(started.stdout), START_TIMEOUT_MS);
    const pidFile = join(temp.path, 'data/embedded/local/pgdata/postmaster.pid');
    postmasterPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  }, START_TIMEOUT_MS + 10_000);

  function running(): { daemon: DaemonProcess; steps: NextSteps } {
    if (daemon === undefined || steps === undefined) throw new Error('gatehouse did not start');
    return { daemon, steps };
  }

  it('prints commands for the configured user and database', () => {
    const { steps: next } = running();
    expect(next.certsIssue).toContain(`--config ${configFile} --user alice --db local --db-user postgres --db-name postgres`);
    expect(next.conninfo).toMatchObject({ host: 'localhost', port: String(listenPort), sslmode: 'verify-full', user: 'postgres', dbname: 'postgres' });
    expect(next.embeddedPort).toBeGreaterThan(0);
  });

  it('writes its CA keys and the embedded superuser password readable by the owner only', () => {
    for (const name of ['user_ca.key', 'host_ca.key', 'proxy.key']) {
      expect({ file: name, mode: mode(join(temp.path, 'certs', name)).toString(8) }).toEqual({ file: name, mode: '600' });
    }
    expect(mode(join(temp.path, 'data/embedded/local/superuser.password')).toString(8)).toBe('600');
  });

  it('issues a certificate with the printed `certs issue` command, run exactly as printed', async () => {
    const { steps: next } = running();
    const result = await runInShell(next.certsIssue);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Issued a certificate for alice to database local');
    // The command it prints to connect is the one `start` printed.
    expect(result.stdout).toContain(next.psql);
    const key = resolve(REPO_ROOT, next.conninfo.sslkey ?? '');
    expect(mode(key).toString(8)).toBe('600');
    expect(mode(dirname(key)).toString(8)).toBe('700');
    for (const file of [next.conninfo.sslcert, next.conninfo.sslrootcert]) {
      expect(readFileSync(resolve(REPO_ROOT, file ?? ''), 'utf8')).toContain('-----BEGIN CERTIFICATE-----');
    }
  });

  it('refuses to issue a certificate for a user the config does not have, exiting 1', async () => {
    const { steps: next } = running();
    const result = await runInShell(next.certsIssue.replace('--user alice', '--user mallory'));
    expect(result.stderr).toBe(`unknown user "mallory": ${configFile} has no such user (users: alice)\n`);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(1);
  });

  it.skipIf(!psqlAvailable)('connects with the printed psql command', async () => {
    const { steps: next } = running();
    // -X: a ~/.psqlrc of whoever runs the tests must not change the output.
    const result = await runInShell(`${next.psql} -X -Atc "select 1"`);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1\n');
    expect(result.code).toBe(0);
  });

  it('connects with the pg client using the files `certs issue` wrote', async () => {
    const { steps: next } = running();
    const file = (key: string) => readFileSync(resolve(REPO_ROOT, next.conninfo[key] ?? ''), 'utf8');
    const client = new pg.Client({
      host: next.conninfo.host,
      port: Number(next.conninfo.port),
      user: next.conninfo.user,
      database: next.conninfo.dbname,
      ssl: { ca: file('sslrootcert'), cert: file('sslcert'), key: file('sslkey'), servername: next.conninfo.host },
    });
    await client.connect();
    try {
      const result = await client.query("SELECT current_user AS who, current_database() AS db, 'through gatehouse' AS marker");
      expect(result.rows).toEqual([{ who: 'postgres', db: 'postgres', marker: 'through gatehouse' }]);
    } finally {
      await client.end();
    }
  });

  it('writes the audit trail as JSON lines on stdout', async () => {
    const { daemon: child } = running();
    const sessions = psqlAvailable ? 2 : 1;
    // Audit writes are asynchronous; give them a moment to reach the pipe.
    const events = await child.waitFor(
      'audit events for the sessions',
      () => {
        const found = child.auditEvents();
        return found.filter((event) => event.event === 'session.end').length >= sessions ? found : undefined;
      },
      10_000,
    );
    const starts = events.filter((event) => event.event === 'session.start');
    expect(starts.length).toBe(sessions);
    for (const start of starts) {
      expect(start).toMatchObject({ user: 'alice', database: 'local', db_user: 'postgres', db_name: 'postgres', success: true, upstream_user: 'postgres' });
    }
    const queries = events.filter((event) => event.event === 'session.query');
    expect(queries).toContainEqual(
      expect.objectContaining({ user: 'alice', message: 'query', query: "SELECT current_user AS who, current_database() AS db, 'through gatehouse' AS marker" }),
    );
    if (psqlAvailable) expect(queries).toContainEqual(expect.objectContaining({ user: 'alice', message: 'query', query: 'select 1' }));
  });

  it.skipIf(!psqlAvailable)('logs in with the printed dbctl command and connects with the printed psql "service=local"', async () => {
    const { steps: next } = running();
    // A home of its own: dbctl writes ~/.dbctl and ~/.pg_service.conf.
    const home = join(temp.path, 'home');
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, DBCTL_HOME: join(home, '.dbctl') };
    delete env.PGSERVICEFILE;
    if (next.setPassword === undefined) throw new Error('the banner should ask for a password first: alice has none yet');
    const setPassword = await runInShell(next.setPassword);
    expect(setPassword.code).toBe(0);
    const password = /Generated password for alice[^\n]*\n\s+(\S+)/.exec(setPassword.stdout)?.[1];
    if (password === undefined) throw new Error(`no generated password in:\n${setPassword.stdout}`);
    // The printed login asks for the password at the terminal; a script passes it on stdin instead.
    const login = await runInShell(`${next.dbctlLogin} --password-stdin`, { input: `${password}\n`, env });
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(next.psqlService);
    const query = await runInShell(`${next.psqlService} -X -Atc "select current_user"`, { env });
    expect(query.stderr).toBe('');
    expect(query.stdout).toBe('postgres\n');
  });

  it('stops on SIGTERM and takes its embedded PostgreSQL down with it', async () => {
    const { daemon: child, steps: next } = running();
    expect(await accepts(next.embeddedPort)).toBe(true);
    child.signal('SIGTERM');
    expect(await child.waitForExit(STOP_TIMEOUT_MS)).toBe(true);
    const { code, signal } = child.exit ?? { code: null, signal: null };
    // 0 after a clean stop; 143 (128 + SIGTERM) is the conventional code for "ended by SIGTERM".
    expect({ ok: code === 0 || code === 143 || signal === 'SIGTERM', code, signal }).toMatchObject({ ok: true });
    expect(postmasterPid !== undefined && isAlive(postmasterPid)).toBe(false);
    expect(existsSync(join(temp.path, 'data/embedded/local/pgdata/postmaster.pid'))).toBe(false);
    expect(await accepts(next.embeddedPort)).toBe(false);
    expect(await accepts(listenPort)).toBe(false);
  });
});
