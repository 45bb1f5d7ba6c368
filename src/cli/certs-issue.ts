// `gatehouse certs issue`: the administrator signs a client certificate offline, the way Teleport's
// `tctl auth sign` does, for people (or scripts) that do not log in through dbctl. It refuses what
// the running proxy would refuse anyway (an unknown user or database, a user none of whose roles
// reach the database) and prints the exact psql command that uses the files it wrote.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadAuthorities } from '../ca/authority-store.js';
import type { RouteToDatabase } from '../ca/certificate-authority.js';
import { writePrivateKeyFile } from '../ca/key-files.js';
import { parseHostPort } from '../config/address.js';
import { formatDuration, parseDuration } from '../config/duration.js';
import { loadConfigFile } from '../config/load.js';
import type { GatehouseConfig } from '../config/types.js';
import { canEverAccessDatabase } from '../rbac/database-access.js';
import { decide } from '../rbac/decide.js';
import { maxSessionTtlMs } from '../rbac/session-ttl.js';
import { readUsersFile } from '../users/users-file.js';
import { withStoredUsers } from '../users/merge-users.js';
import { reportCliError } from './cli-errors.js';
import { commandOutput } from './command-output.js';
import { psqlCommand } from './psql-command.js';

interface IssueOptions {
  config: string;
  user: string;
  db: string;
  dbUser?: string;
  dbName?: string;
  ttl: string;
  out: string;
}

export function registerCertsIssueCommand(program: Command): void {
  // Other `certs ...` subcommands may be registered too; share their parent rather than add a twin.
  const certs = program.commands.find((command) => command.name() === 'certs') ?? program.command('certs').description('issue Gatehouse certificates');
  certs
    .command('issue')
    .description('sign a client certificate for a user and a database, and print the psql command that uses it')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .requiredOption('--user <name>', 'the Gatehouse user the certificate is for')
    .requiredOption('--db <name>', 'the database (as named in the config) the certificate routes to')
    .option('--db-user <name>', 'database user to log in as when the client names none')
    .option('--db-name <name>', 'database to open when the client names none')
    .option('--ttl <duration>', "how long the certificate is valid, e.g. 30m or 8h (at most the user's max_session_ttl)", '1h')
    .requiredOption('--out <dir>', 'directory to write client.crt, client.key and ca.crt to')
    .action((options: IssueOptions, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        issue(options, writeOut, writeErr);
      } catch (error) {
        reportCliError(error, writeErr);
      }
    });
}

function issue(options: IssueOptions, writeOut: (text: string) => void, writeErr: (text: string) => void): void {
  // Users added with `gatehouse users add` live in the users file: the daemon serves them, so sign for them too.
  const yaml = loadConfigFile(options.config);
  const config = withStoredUsers(yaml, readUsersFile(yaml.proxy.users_file)).config;
  checkAccess(config, options, writeErr);
  const ttlMs = certificateTtl(config, options, writeErr);
  const authorities = loadAuthorities(config.proxy.ca_dir);
  const route: RouteToDatabase = {
    database: options.db,
    ...(options.dbUser === undefined ? {} : { dbUser: options.dbUser }),
    ...(options.dbName === undefined ? {} : { dbName: options.dbName }),
  };
  const issued = authorities.userCa.issueClientCertificate({ user: options.user, route, ttlMs });

  const files = { cert: join(options.out, 'client.crt'), key: join(options.out, 'client.key'), ca: join(options.out, 'ca.crt') };
  if (!existsSync(options.out)) mkdirSync(options.out, { recursive: true, mode: 0o700 });
  writePrivateKeyFile(files.key, issued.keyPem as string);
  writeFileSync(files.cert, issued.certPem);
  // psql verifies the proxy's server certificate, which the host CA signed.
  writeFileSync(files.ca, authorities.hostCa.certPem);

  const listenPort = parseHostPort(config.proxy.postgres_listen_addr).port;
  const target = parseHostPort(config.proxy.public_addr, listenPort);
  const command = psqlCommand({ host: target.host, port: target.port, ca: files.ca, cert: files.cert, key: files.key, dbUser: options.dbUser, dbName: options.dbName });
  writeOut(
    [
      `Issued a certificate for ${options.user} to database ${options.db}, valid until ${issued.notAfter.toISOString()} (${formatDuration(ttlMs)}).`,
      `  ${files.cert}`,
      `  ${files.key}`,
      `  ${files.ca}  (the host CA: psql checks Gatehouse's certificate with it)`,
      'Connect with:',
      `  ${command}`,
      '',
    ].join('\n'),
  );
}

/**
 * Refuses an unknown user or database, and a user none of whose roles could ever reach the database;
 * warns when the default db user/name written into the certificate would be refused at connect time.
 */
function checkAccess(config: GatehouseConfig, options: IssueOptions, writeErr: (text: string) => void): void {
  if (!config.users.some((user) => user.name === options.user)) {
    throw new Error(`unknown user ${JSON.stringify(options.user)}: ${config.source} has no such user (users: ${names(config.users)})`);
  }
  if (!config.databases.some((database) => database.name === options.db)) {
    throw new Error(`unknown database ${JSON.stringify(options.db)}: ${config.source} has no such database (databases: ${names(config.databases)})`);
  }
  const access = canEverAccessDatabase(config, options.user, options.db);
  if (!access.allowed) throw new Error(`not issuing a certificate ${options.user} could never use: ${access.reason}`);
  if (options.dbUser !== undefined) {
    const decision = decide(config, { user: options.user, database: options.db, dbUser: options.dbUser, dbName: options.dbName ?? options.dbUser });
    if (!decision.allowed) writeErr(`warning: connecting with the defaults in this certificate will be refused: ${decision.reason}\n`);
  }
}

/** --ttl, capped at the user's max_session_ttl (saying so). */
function certificateTtl(config: GatehouseConfig, options: IssueOptions, writeErr: (text: string) => void): number {
  let requested: number;
  try {
    requested = parseDuration(options.ttl);
  } catch (error) {
    throw new Error(`--ttl: ${(error as Error).message}`);
  }
  if (requested <= 0) throw new Error('--ttl must be longer than 0, e.g. 1h');
  const maximum = maxSessionTtlMs(config, options.user);
  if (requested <= maximum) return requested;
  writeErr(`note: --ttl ${options.ttl} is longer than ${options.user}'s roles allow; the certificate is valid for ${formatDuration(maximum)}\n`);
  return maximum;
}

function names(items: readonly { name: string }[]): string {
  return items.length === 0 ? 'none' : items.map((item) => item.name).join(', ');
}
