// `dbctl config DB --format cmd|uri|env|json|dbt`: the connection to one database through
// Gatehouse in the form a tool takes it (see connection-formats.ts), logging in to the database
// first when needed. Only the connection goes to stdout, so it can be captured, sourced or
// appended to a profiles.yml; messages about logging in go to stderr.
import type { Command } from 'commander';
import { connectionSettings } from '../dbctl/connection-settings.js';
import { CONNECTION_FORMATS, formatConnection, type ConnectionFormat } from '../dbctl/connection-formats.js';
import { databaseRequest, ensureDatabaseLogin } from '../dbctl/database-login.js';
import { currentProfile, dbctlContext } from '../dbctl/dbctl-context.js';
import { DbctlError, reportDbctlError } from '../dbctl/dbctl-error.js';
import { commandOutput } from './command-output.js';

interface ConfigOptions {
  format: string;
  dbUser?: string;
  dbName?: string;
}

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('print how to connect to a database: a psql command, a URI, PG* variables, JSON or a dbt profile')
    .argument('<database>', 'the database (see dbctl ls)')
    .option('--format <format>', `${CONNECTION_FORMATS.join(', ')}`, 'cmd')
    .option('--db-user <name>', 'database user to log in as')
    .option('--db-name <name>', 'database to open')
    .addHelpText(
      'after',
      '\nExamples:\n  eval "$(dbctl config local --format env)" && psql\n  dbctl config local --format dbt >> ~/.dbt/profiles.yml\n  psql "$(dbctl config local --format uri)"',
    )
    .action(async (database: string, options: ConfigOptions, command: Command) => {
      const context = dbctlContext(commandOutput(command));
      try {
        if (!(CONNECTION_FORMATS as readonly string[]).includes(options.format)) {
          throw new DbctlError(`--format ${options.format}: use one of ${CONNECTION_FORMATS.join(', ')}`);
        }
        const profile = currentProfile(context);
        const request = databaseRequest(database, options);
        const login = await ensureDatabaseLogin(context, profile, request);
        context.writeOut(formatConnection(connectionSettings(profile, login, request), options.format as ConnectionFormat));
      } catch (error) {
        reportDbctlError(error, context.writeErr);
      }
    });
}
