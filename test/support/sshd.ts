// A real OpenSSH server for the tests: /usr/sbin/sshd in the foreground (-D) with its own config,
// host key, authorized_keys and pid file in a temporary directory, listening on 127.0.0.1 on a
// free port, with TCP forwarding on and only public-key logins. It runs as whoever runs the tests
// (as root, sshd needs its privilege separation directory /run/sshd, which a package install
// normally creates at boot) and accepts logins as that same user. Its log (LogLevel DEBUG1 on
// stderr) shows each accepted login and each forwarded channel, which is how the tests see what
// went through the bastion.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { utils } from 'ssh2';
import { freePort } from '../../src/embedded/postgres-cluster.js';
import { makeTempDir } from './temp-dir.js';

export const SSHD_PATH = '/usr/sbin/sshd';

/** Why the sshd tests cannot run here, or undefined when they can (for describe.skipIf). */
export const sshdUnavailable: string | undefined = existsSync(SSHD_PATH)
  ? undefined
  : `OpenSSH's sshd is not installed at ${SSHD_PATH} (Debian/Ubuntu: apt-get install openssh-server); the SSH bastion tests need a real one`;

export interface TestSshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The account Gatehouse logs in as: the one running the tests. */
  readonly user: string;
  readonly dir: string;
  /** The server's host key as `ssh-ed25519 AAAA...`. */
  readonly hostKey: string;
  /** This server's known_hosts line: `[127.0.0.1]:PORT ssh-ed25519 AAAA...`. */
  readonly knownHostsLine: string;
  /** Adds a public key line to authorized_keys (read at each login). */
  authorize(publicKeyLine: string): void;
  /** The log so far (sshd's stderr). */
  log(): string;
  /** How many log lines match. */
  count(pattern: RegExp): number;
  /** Resolves once `count` lines match; rejects with the log after `timeoutMs`. */
  waitForLog(pattern: RegExp, count?: number, timeoutMs?: number): Promise<void>;
  /** SIGKILLs every process serving a connection (as a crash or a cut network would end them); the listener stays. */
  dropConnections(): number;
  stop(): Promise<void>;
}

/** Lines in sshd's DEBUG1 log. */
export const SSHD_LOG = {
  login: /Accepted publickey for \S+ from/,
  channel: /server_request_direct_tcpip: originator .*, target \S+ port \d+/,
};

export async function startTestSshd(): Promise<TestSshd> {
  if (sshdUnavailable !== undefined) throw new Error(sshdUnavailable);
  const temp = makeTempDir('sshd');
  const dir = temp.path;
  const user = userInfo().username;
  const hostKey = utils.generateKeyPairSync('ed25519', { comment: 'gatehouse-test-sshd' });
  const hostKeyFile = join(dir, 'ssh_host_ed25519_key');
  // sshd refuses a host key that others can read.
  writeFileSync(hostKeyFile, hostKey.private, { mode: 0o600 });
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, '', { mode: 0o600 });
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const configFile = join(dir, 'sshd_config');
  writeFileSync(
    configFile,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      // The temporary directory is not the user's home: ownership checks would only get in the way.
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'PermitTTY no',
      'X11Forwarding no',
      'UseDNS no',
      'PrintMotd no',
      'LogLevel DEBUG1',
      '',
    ].join('\n'),
  );
  const child = spawn(SSHD_PATH, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (output.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        clearInterval(check);
        resolve();
      } else if (child.exitCode !== null || child.signalCode !== null) {
        clearInterval(check);
        child.kill('SIGKILL');
        reject(new Error(`sshd did not start:\n${output}`));
      }
    }, 20);
  }).catch((error: unknown) => {
    temp.remove();
    throw error;
  });
  const hostKeyLine = hostKey.public.split(' ').slice(0, 2).join(' ');
  const count = (pattern: RegExp) => output.split('\n').filter((line) => pattern.test(line)).length;
  return {
    host: '127.0.0.1',
    port,
    user,
    dir,
    hostKey: hostKeyLine,
    knownHostsLine: `[127.0.0.1]:${port} ${hostKeyLine}`,
    authorize(publicKeyLine) {
      appendFileSync(authorizedKeys, `${publicKeyLine.trim()}\n`);
    },
    log: () => output,
    count,
    async waitForLog(pattern, wanted = 1, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (count(pattern) < wanted) {
        if (Date.now() > deadline) throw new Error(`sshd log has ${count(pattern)} of ${wanted} lines matching ${String(pattern)}:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    dropConnections: () => killDescendants(child),
    async stop() {
      killDescendants(child);
      child.kill('SIGTERM');
      await exited;
      temp.remove();
    },
  };
}

/** Kills every process below the listener (the per-connection monitors and their children); returns how many. */
function killDescendants(listener: ChildProcess): number {
  if (listener.pid === undefined) return 0;
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const descendants: number[] = [];
  const queue = [listener.pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        descendants.push(pid);
        queue.push(pid);
      }
    }
  }
  // Deepest first: the process that holds the connection's socket dies before its monitor, so it
  // cannot close its channels politely (as it would when it saw the monitor go).
  for (const pid of descendants.reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  return descendants.length;
}
