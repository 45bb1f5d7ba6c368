// The banner `gatehouse start` prints once it listens: where each database is, and the exact
// commands to try it, first with dbctl (the login service), then with an offline certificate.
// The commands are printed to be pasted as they are; the CLI's end-to-end test runs them so.
import { isAbsolute, join, relative } from 'node:path';
import { parseHostPort } from '../config/address.js';
import type { DatabaseConfig, GatehouseConfig, UserConfig } from '../config/types.js';
import type { Daemon } from '../daemon.js';
import { readUsersFile } from '../users/users-file.js';
import { certificateFingerprint } from '../web/ca-endpoint.js';
import { psqlCommand, shellWord } from './psql-command.js';

/** What the banner needs of a running Gatehouse: a Daemon, or the primary of several workers. */
export type ListeningGatehouse = Pick<Daemon, 'postgresAddress' | 'webAddress' | 'embedded' | 'authorities'>;

export function nextSteps(config: GatehouseConfig, daemon: ListeningGatehouse, configPath: string): string {
  const postgres = parseHostPort(config.proxy.public_addr, daemon.postgresAddress.port);
  const webAddress = `${postgres.host}:${daemon.webAddress.port}`;
  const lines = [
    '',
    `Gatehouse is listening for Postgres clients on ${config.proxy.postgres_listen_addr} (public address ${postgres.host}:${postgres.port}) and for dbctl on https://${webAddress}.`,
    ...config.databases.map((database) => `  database ${database.name}: ${whereIs(database, daemon)}`),
  ];
  const user = config.users[0];
  const database = config.databases[0];
  if (user !== undefined && database !== undefined) {
    const gatehouse = (...args: string[]) => ['node', 'dist/cli/gatehouse.js', ...args].map(shellWord).join(' ');
    const dbctl = (...args: string[]) => ['node', 'dist/cli/dbctl.js', ...args].map(shellWord).join(' ');
    lines.push('', `Next, in another terminal: log in as ${user.name} with dbctl and connect with psql through Gatehouse:`);
    if (!hasPassword(config, user)) {
      lines.push(`  ${gatehouse('users', 'set-password', user.name, '--config', configPath)}`);
    }
    const fingerprint = certificateFingerprint(daemon.authorities.hostCa.certPem);
    lines.push(`  ${dbctl('login', '--proxy', webAddress, '--user', user.name, '--ca-fingerprint', fingerprint, database.name)}`, `  psql "service=${database.name}"`);

    const out = displayPath(`${config.proxy.data_dir}/${user.name}`);
    const dbUser = user.traits.db_users?.[0] ?? 'postgres';
    const dbName = user.traits.db_names?.[0] ?? 'postgres';
    const issue = gatehouse('certs', 'issue', '--config', configPath, '--user', user.name, '--db', database.name, '--db-user', dbUser, '--db-name', dbName, '--ttl', '1h', '--out', out);
    const psql = psqlCommand({ host: postgres.host, port: postgres.port, ca: join(out, 'ca.crt'), cert: join(out, 'client.crt'), key: join(out, 'client.key'), dbUser, dbName });
    lines.push('', 'Or, without the login service, with a certificate the administrator issues offline:', `  ${issue}`, `  ${psql}`);
  }
  lines.push('', 'Stop with Ctrl+C.', '');
  return `${lines.join('\n')}\n`;
}

function whereIs(database: DatabaseConfig, daemon: ListeningGatehouse): string {
  const embedded = daemon.embedded.get(database.name);
  if (embedded !== undefined) return `embedded PostgreSQL on 127.0.0.1:${embedded.target.port}`;
  const aws = database.aws;
  if (aws?.redshift !== undefined) return `Redshift cluster ${aws.redshift.cluster_id} in ${aws.region}${database.uri === undefined ? '' : ` at ${database.uri}`}`;
  if (aws?.redshift_serverless !== undefined) return `Redshift Serverless workgroup ${aws.redshift_serverless.workgroup} in ${aws.region}`;
  return database.uri ?? 'no address';
}

/** Whether the users file gives this user a password; an unreadable file is the daemon's to report. */
function hasPassword(config: GatehouseConfig, user: UserConfig): boolean {
  try {
    return readUsersFile(config.proxy.users_file).some((stored) => stored.name === user.name && stored.password_hash !== undefined);
  } catch {
    return false;
  }
}

/** Relative to the working directory when inside it, absolute otherwise: the shorter true path. */
function displayPath(path: string): string {
  const relativePath = relative(process.cwd(), path);
  return relativePath === '' || relativePath.startsWith('..') || isAbsolute(relativePath) ? path : relativePath;
}
