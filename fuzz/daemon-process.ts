// Gatehouse as the fuzzer sees it: `node dist/cli/gatehouse.js start` in a process of its own, so
// a crash is a process exit and not a test runner's problem, and its memory and sockets are its
// alone. With proxy.workers > 1 that process is a primary with worker processes: the process tree
// counts, and a worker that exits is a crash even if the primary replaces it. This module starts
// it, learns its port from the banner it prints, reads its JSON log lines (anything at error
// level, and anything on stderr that is not a log line, is unexpected), and reads the tree's RSS
// and open TCP connections from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const GATEHOUSE_CLI = join(repoRoot, 'dist/cli/gatehouse.js');
/** pino's numeric level for error (50) and fatal (60). */
const ERROR_LEVEL = 50;
const WARN_LEVEL = 40;
const START_TIMEOUT_MS = 60_000;

export interface DaemonExit {
  /** Set when a worker process exited (the primary may have replaced it). */
  readonly worker?: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines it wrote to stderr, for the report. */
  readonly lastLines: string[];
}

export interface OpenConnections {
  /** Accepted client connections (local port = the Postgres listener's). */
  readonly clients: number;
  /** Connections to the database. */
  readonly upstream: number;
  /** Any other TCP connection the process holds. */
  readonly other: number;
}

export class DaemonProcess {
  /** Error and fatal log lines, and stderr lines that are not JSON log lines. */
  readonly unexpectedLines: string[] = [];
  readonly levelCounts = new Map<number, number>();
  /** The first warn-level lines (expected ones: refusals worth a warning), for the report. */
  readonly warnings: string[] = [];
  exit: DaemonExit | undefined;
  private stopping = false;
  private readonly recentLines: string[] = [];
  private readonly exited: Promise<void>;
  private readonly exitListeners: ((exit: DaemonExit) => void)[] = [];
  /** Worker processes seen so far; one that disappears while running is a crash. */
  private readonly knownChildren = new Set<number>();
  private readonly childWatch: NodeJS.Timeout;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly port: number,
    readonly upstreamPort: number,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        clearInterval(this.childWatch);
        this.exit = { code, signal, lastLines: [...this.recentLines] };
        if (!this.stopping) for (const listener of this.exitListeners) listener(this.exit);
        resolve();
      }),
    );
    this.childWatch = setInterval(() => this.checkChildren(), 200);
    this.childWatch.unref();
  }

  /** Starts the daemon and resolves once it listens (its banner names the port). */
  static async start(configFile: string, env: NodeJS.ProcessEnv, upstreamPort: number): Promise<DaemonProcess> {
    const child = spawn(process.execPath, [GATEHOUSE_CLI, 'start', '--config', configFile], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const early: string[] = [];
    const port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => fail(`did not print its banner within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`Gatehouse ${why}; stderr:\n${early.join('\n')}`));
      };
      child.stderr!.on('data', (chunk: Buffer) => early.push(chunk.toString('utf8')));
      child.once('exit', (code, signal) => fail(`exited during start (code ${code}, signal ${signal})`));
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const match = /public address [^\s]+:(\d+)\)/.exec(stdout);
        if (match === null) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stderr!.removeAllListeners('data');
        resolve(Number(match[1]));
      });
    });
    // Never outlive the fuzzer, whatever ends it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    if (child.pid === undefined) throw new Error('Gatehouse has no process id');
    const daemon = new DaemonProcess(child, child.pid, port, upstreamPort);
    for (const text of early) daemon.readStderr(text);
    let partial = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      daemon.readStderr(lines.join('\n'));
    });
    child.stdout!.resume();
    return daemon;
  }

  /** Called if the daemon, or one of its workers, exits without being asked to (a crash). */
  onUnexpectedExit(listener: (exit: DaemonExit) => void): void {
    this.exitListeners.push(listener);
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The primary and every process under it (its workers). */
  processTree(): number[] {
    const children = new Map<number, number[]>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
      } catch {
        // the process ended while we looked
      }
    }
    const tree: number[] = [];
    const visit = (pid: number) => {
      tree.push(pid);
      for (const child of children.get(pid) ?? []) visit(child);
    };
    visit(this.pid);
    return tree;
  }

  /** Resident memory of the whole tree in bytes (VmRSS summed), or undefined once it is gone. */
  rssBytes(): number | undefined {
    let total: number | undefined;
    for (const pid of this.processTree()) {
      try {
        const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (match !== null) total = (total ?? 0) + Number(match[1]) * 1024;
      } catch {
        // gone
      }
    }
    return total;
  }

  /** TCP connections the tree holds (any state but LISTEN), from its fds and /proc/net/tcp{,6}. */
  openConnections(): OpenConnections {
    const inodes = new Set<string>();
    for (const pid of this.processTree()) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          if (match !== null) inodes.add(match[1]!);
        } catch {
          // the fd closed while we looked
        }
      }
    }
    let clients = 0;
    let upstream = 0;
    let other = 0;
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length < 10 || !inodes.has(fields[9]!)) continue;
        if (fields[3] === '0A') continue; // LISTEN
        const localPort = parseInt(fields[1]!.split(':')[1]!, 16);
        const remotePort = parseInt(fields[2]!.split(':')[1]!, 16);
        if (localPort === this.port) clients++;
        else if (remotePort === this.upstreamPort) upstream++;
        else other++;
      }
    }
    return { clients, upstream, other };
  }

  /** SIGTERM (the daemon drains for proxy.shutdown_grace), then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  private checkChildren(): void {
    if (this.stopping || !this.running) return;
    const tree = new Set(this.processTree().slice(1));
    for (const pid of this.knownChildren) {
      if (tree.has(pid)) continue;
      this.knownChildren.delete(pid);
      const exit = { code: null, signal: null, lastLines: [...this.recentLines], worker: pid };
      for (const listener of this.exitListeners) listener(exit);
    }
    for (const pid of tree) this.knownChildren.add(pid);
  }

  private readStderr(text: string): void {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      this.recentLines.push(line);
      if (this.recentLines.length > 40) this.recentLines.shift();
      let level: number | undefined;
      try {
        const parsed = JSON.parse(line) as { level?: unknown };
        if (typeof parsed.level === 'number') level = parsed.level;
      } catch {
        // not a log line: a stack trace or a Node warning
      }
      if (level !== undefined) this.levelCounts.set(level, (this.levelCounts.get(level) ?? 0) + 1);
      if (level === WARN_LEVEL && this.warnings.length < 50) this.warnings.push(line);
      if (level === undefined || level >= ERROR_LEVEL) this.unexpectedLines.push(line);
    }
  }
}
