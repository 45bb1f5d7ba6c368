// `dbctl ls`: the databases the person's roles allow (GET /v1/databases, filtered by Gatehouse by
// labels), with the db users and db names allowed there, marking the ones logged in to (a stored
// certificate that has not expired).
import type { Command } from 'commander';
import { currentProfile, dbctlContext, isExpired, withIdentity } from '../dbctl/dbctl-context.js';
import { DbctlError, reportDbctlError } from '../dbctl/dbctl-error.js';
import { listDatabases, type DatabaseEntry } from '../dbctl/gatehouse-api.js';
import { commandOutput } from './command-output.js';
import { renderTable } from '../dbctl/text-table.js';

export function registerLsCommand(program: Command): void {
  program
    .command('ls')
    .description('list the databases you may use; * marks those you are logged in to')
    .option('--format <format>', 'text or json', 'text')
    .action(async (options: { format: string }, command: Command) => {
      const context = dbctlContext(commandOutput(command));
      try {
        if (options.format !== 'text' && options.format !== 'json') throw new DbctlError(`--format ${options.format}: use text or json`);
        const profile = currentProfile(context);
        const databases = await withIdentity(context, profile, (client, relogin) => listDatabases(client, relogin));
        const loggedIn = new Set(
          context.store
            .listDatabases(profile.name)
            .filter((login) => !isExpired(login.notAfter, context.now()))
            .map((login) => login.route.database),
        );
        if (options.format === 'json') {
          const rows = databases.map((database) => ({ ...database, logged_in: loggedIn.has(database.name) }));
          context.writeOut(`${JSON.stringify({ proxy: profile.profile.proxy, user: profile.profile.user, databases: rows }, null, 2)}\n`);
          return;
        }
        if (databases.length === 0) {
          context.writeOut(`Your roles (${profile.profile.roles.join(', ') || 'none'}) allow no database on ${profile.profile.proxy}; ask your Gatehouse administrator.\n`);
          return;
        }
        context.writeOut(renderTable(['', 'NAME', 'DESCRIPTION', 'LABELS', 'DB USERS', 'DB NAMES'], databases.map((database) => row(database, loggedIn))));
      } catch (error) {
        reportDbctlError(error, context.writeErr);
      }
    });
}

function row(database: DatabaseEntry, loggedIn: ReadonlySet<string>): string[] {
  const labels = Object.entries(database.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  return [loggedIn.has(database.name) ? '*' : '', database.name, database.description, labels, database.db_users.join(','), database.db_names.join(',')];
}
