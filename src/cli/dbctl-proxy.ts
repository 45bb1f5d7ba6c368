// `dbctl proxy DB --port 15432`: a local Postgres endpoint for clients that cannot present a
// client certificate (GUI clients, some drivers): plaintext and password-less on loopback, mutual
// TLS to Gatehouse for each connection (see local-proxy.ts). It refuses a non-loopback --bind
// unless --allow-remote is given, because anyone who can reach the port uses the database as you.
// Runs until SIGINT/SIGTERM, then closes every connection.
import type { Command } from 'commander';
import { readPrivateKeyFile } from '../ca/key-files.js';
import { postgresAddress } from '../dbctl/connection-settings.js';
import { shellQuote } from '../dbctl/connection-formats.js';
import { databaseRequest, ensureDatabaseLogin } from '../dbctl/database-login.js';
import { currentProfile, dbctlContext, type DbctlContext } from '../dbctl/dbctl-context.js';
import { DbctlError, reportDbctlError } from '../dbctl/dbctl-error.js';
import { LocalProxy, isLoopbackHost } from '../dbctl/local-proxy.js';
import type { StoredProfile } from '../dbctl/profile-store.js';
import { commandOutput } from './command-output.js';

interface ProxyOptions {
  port: string;
  bind: string;
  allowRemote?: boolean;
  dbUser?: string;
  dbName?: string;
}

export function registerProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description('listen locally for Postgres clients without certificates and connect them to a database through Gatehouse')
    .argument('<database>', 'the database (see dbctl ls)')
    .option('--port <port>', 'local port (0: any free port)', '0')
    .option('--bind <address>', 'local address to listen on', '127.0.0.1')
    .option('--allow-remote', 'allow a --bind address other machines can reach (they connect as you)')
    .option('--db-user <name>', 'database user for every connection (replaces what the client sends)')
    .option('--db-name <name>', 'database for every connection (replaces what the client sends)')
    .action(async (database: string, options: ProxyOptions, command: Command) => {
      const context = dbctlContext(commandOutput(command));
      try {
        await runProxy(context, database, options);
      } catch (error) {
        reportDbctlError(error, context.writeErr);
      }
    });
}

async function runProxy(context: DbctlContext, database: string, options: ProxyOptions): Promise<void> {
  const port = Number(options.port);
  if (!/^\d+$/.test(options.port) || port > 65535) throw new DbctlError(`--port ${options.port}: give a port number (0-65535)`);
  if (!isLoopbackHost(options.bind)) {
    if (options.allowRemote !== true) {
      throw new DbctlError(`--bind ${options.bind} would let other machines use ${database} as you, without a password`, {
        hint: 'keep the default 127.0.0.1, or add --allow-remote if that is really what you want',
      });
    }
    context.writeErr(`WARNING: listening on ${options.bind}: anyone who can reach this port uses ${database} as you, without a password.\n`);
  }
  const profile = currentProfile(context);
  const request = databaseRequest(database, options);
  const login = await ensureDatabaseLogin(context, profile, request);
  const proxy = new LocalProxy({
    database,
    gatehouse: postgresAddress(profile),
    caPem: profile.caPem,
    credentials: () => credentialsFor(context, profile, database),
    rewrite: { dbUser: request.dbUser, dbName: request.dbName },
    renewCommand: `dbctl login ${database}`,
    now: context.now,
    log: (line) => context.writeErr(`dbctl proxy: ${line}\n`),
  });
  const address = await proxy.listen(options.bind, port).catch((error: NodeJS.ErrnoException) => {
    throw new DbctlError(`cannot listen on ${options.bind}:${port}: ${error.code ?? error.message}`, {
      hint: error.code === 'EADDRINUSE' ? 'pick another --port (or 0 for any free one)' : 'check --bind',
    });
  });
  const user = options.dbUser ?? login.route.db_user;
  const dbname = options.dbName ?? login.route.db_name;
  const host = address.address;
  const conninfo = [`host=${host}`, `port=${address.port}`, ...(user === undefined ? [] : [`user=${user}`]), ...(dbname === undefined ? [] : [`dbname=${dbname}`]), 'sslmode=disable']
    .join(' ');
  context.writeOut(
    `Listening on ${address.family === 'IPv6' ? `[${host}]` : host}:${address.port} for database ${database} through Gatehouse at ${profile.profile.postgres_addr}.\n` +
      `Connect with:\n  psql ${shellQuote(conninfo)}\n` +
      'GUI clients: that host and port, any password (none is checked here), SSL off (the connection to Gatehouse is TLS).\n' +
      'Press Ctrl+C to stop.\n',
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      context.writeErr(`\nStopping (${signal}): closing ${proxy.activeConnections} connection(s).\n`);
      void proxy.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  context.writeErr('dbctl proxy stopped.\n');
}

/** The database certificate as stored now (a "dbctl login DB" elsewhere renews it for the next connection). */
function credentialsFor(context: DbctlContext, profile: StoredProfile, database: string) {
  const login = context.store.loadDatabase(profile.name, database);
  if (login === undefined) throw new Error(`dbctl has no certificate for ${database} any more (logged out?)`);
  return { certPem: login.certPem, keyPem: readPrivateKeyFile(login.keyPath), notAfter: login.notAfter };
}
