// `gatehouse start`: validate the config, create the CAs on first start, run the daemon until a
// signal, and tell the person at the terminal exactly what to run next.
import { isAbsolute, join, relative } from 'node:path';
import type { Command } from 'commander';
import { parseHostPort } from '../config/address.js';
import { loadConfigFile } from '../config/load.js';
import type { GatehouseConfig } from '../config/types.js';
import { Daemon } from '../daemon.js';
import { createLogger } from '../logging.js';
import { reportCliError } from './cli-errors.js';
import { psqlCommand, shellWord } from './psql-command.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the Gatehouse daemon')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .action(async (options: { config: string }) => {
      let config: GatehouseConfig;
      try {
        config = loadConfigFile(options.config);
      } catch (error) {
        return reportCliError(error);
      }
      const logger = createLogger(config.log.level);
      let daemon: Daemon;
      try {
        daemon = await Daemon.start({ config, logger });
      } catch (error) {
        logger.fatal({ err: error }, 'gatehouse could not start');
        return reportCliError(error);
      }
      printNextSteps(config, daemon, options.config);
      await waitForStopSignal();
      await daemon.stop();
    });
}

function waitForStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function printNextSteps(config: GatehouseConfig, daemon: Daemon, configPath: string): void {
  const publicAddress = parseHostPort(config.proxy.public_addr, daemon.postgresAddress.port);
  const user = config.users[0];
  const database = config.databases[0];
  const lines = [
    '',
    `Gatehouse is listening for Postgres clients on ${config.proxy.postgres_listen_addr} (public address ${publicAddress.host}:${publicAddress.port}).`,
    ...config.databases.map((db) => {
      const embedded = daemon.embedded.get(db.name);
      const where = embedded === undefined ? db.uri : `embedded PostgreSQL on 127.0.0.1:${embedded.target.port}`;
      return `  database ${db.name}: ${where}`;
    }),
  ];
  if (user !== undefined && database !== undefined) {
    const out = displayPath(`${config.proxy.data_dir}/${user.name}`);
    const dbUser = user.traits.db_users?.[0] ?? 'postgres';
    const dbName = user.traits.db_names?.[0] ?? 'postgres';
    const issue = ['node', 'dist/cli/gatehouse.js', 'certs', 'issue', '--config', configPath, '--user', user.name, '--db', database.name, '--db-user', dbUser, '--db-name', dbName, '--ttl', '1h', '--out', out];
    const psql = psqlCommand({ host: publicAddress.host, port: publicAddress.port, ca: join(out, 'ca.crt'), cert: join(out, 'client.crt'), key: join(out, 'client.key'), dbUser, dbName });
    lines.push(
      '',
      `Next, in another terminal: issue a certificate for ${user.name} and connect with psql through Gatehouse:`,
      `  ${issue.map(shellWord).join(' ')}`,
      `  ${psql}`,
    );
  }
  lines.push('', 'Stop with Ctrl+C.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Relative to the working directory when inside it, absolute otherwise: the shorter true path. */
function displayPath(path: string): string {
  const relativePath = relative(process.cwd(), path);
  return relativePath === '' || relativePath.startsWith('..') || isAbsolute(relativePath) ? path : relativePath;
}
