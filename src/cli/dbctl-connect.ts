// `dbctl connect DB [-- psql args]`: runs psql against the database through Gatehouse, logging in
// to the database first when needed. psql gets the terminal (stdio inherited) and its exit code
// becomes dbctl's. dbctl ignores Ctrl+C meanwhile: the terminal sends SIGINT to both, and psql
// turns it into a cancel request instead of dying.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { connectionSettings } from '../dbctl/connection-settings.js';
import { conninfo } from '../dbctl/connection-formats.js';
import { databaseRequest, ensureDatabaseLogin } from '../dbctl/database-login.js';
import { currentProfile, dbctlContext } from '../dbctl/dbctl-context.js';
import { DbctlError, reportDbctlError } from '../dbctl/dbctl-error.js';
import { locatePsql } from '../dbctl/psql-locator.js';
import { commandOutput } from './command-output.js';

interface ConnectOptions {
  dbUser?: string;
  dbName?: string;
  psql?: string;
}

export function registerConnectCommand(program: Command): void {
  program
    .command('connect')
    .description('run psql on a database through Gatehouse (logs in to the database first when needed)')
    .argument('<database>', 'the database (see dbctl ls)')
    .argument('[psql-args...]', 'more psql arguments, after --, e.g. -- -c "select 1"')
    .option('--db-user <name>', 'database user to log in as')
    .option('--db-name <name>', 'database to open')
    .option('--psql <path>', 'the psql to run (default: psql on PATH, else /usr/lib/postgresql/*/bin/psql)')
    .action(async (database: string, psqlArgs: string[], options: ConnectOptions, command: Command) => {
      const context = dbctlContext(commandOutput(command));
      try {
        const psql = locatePsql({ ...(options.psql === undefined ? {} : { override: options.psql }), path: context.env.PATH ?? '' });
        const profile = currentProfile(context);
        const request = databaseRequest(database, options);
        const login = await ensureDatabaseLogin(context, profile, request);
        const settings = connectionSettings(profile, login, request);
        process.exitCode = await runPsql(psql, [conninfo(settings), ...psqlArgs]);
      } catch (error) {
        reportDbctlError(error, context.writeErr);
      }
    });
}

/** psql's exit code, or 128 + the signal number when a signal ended it (as shells report it). */
function runPsql(psql: string, args: string[]): Promise<number> {
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(psql, args, { stdio: 'inherit' });
    const forwardTerm = () => child.kill('SIGTERM');
    process.on('SIGTERM', forwardTerm);
    const done = () => {
      process.off('SIGINT', ignore);
      process.off('SIGQUIT', ignore);
      process.off('SIGTERM', forwardTerm);
    };
    child.once('error', (error) => {
      done();
      reject(new DbctlError(`cannot run ${psql}: ${error.message}`, { hint: 'point --psql at a working psql' }));
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
    });
  });
}
