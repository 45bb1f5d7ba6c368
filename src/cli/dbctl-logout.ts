// `dbctl logout [DB]`: with a database, removes its certificate, key and service section; without,
// everything dbctl keeps for the current proxy: the profile (CA, identity certificate and key),
// every database's files, and every service section dbctl wrote for that proxy. Sections it did
// not write are never touched. Certificates already copied elsewhere stay valid until they expire:
// they are short-lived on purpose.
import type { Command } from 'commander';
import { dbctlContext, type DbctlContext } from '../dbctl/dbctl-context.js';
import { DbctlError, reportDbctlError } from '../dbctl/dbctl-error.js';
import { managedSectionNames, readServiceFile, removeManagedSection, writeServiceFile } from '../dbctl/pg-service-file.js';
import { checkDatabaseName } from '../dbctl/profile-store.js';
import { commandOutput } from './command-output.js';

export function registerLogoutCommand(program: Command): void {
  program
    .command('logout')
    .description('remove a database\'s certificate and service section, or (no argument) everything for the current proxy')
    .argument('[database]', 'the database to log out of')
    .action((database: string | undefined, _options: unknown, command: Command) => {
      const context = dbctlContext(commandOutput(command));
      try {
        if (database === undefined) logoutEverything(context);
        else logoutDatabase(context, database);
      } catch (error) {
        reportDbctlError(error, context.writeErr);
      }
    });
}

function logoutDatabase(context: DbctlContext, database: string): void {
  checkDatabaseName(database);
  const { name, proxy } = currentNames(context);
  const removedFiles = context.store.removeDatabase(name, database);
  const removedSection = removeSections(context, proxy, [database]).length > 0;
  if (!removedFiles && !removedSection) {
    const others = context.store.databaseNames(name);
    throw new DbctlError(`you are not logged in to ${database} on ${proxy}`, {
      hint: others.length === 0 ? 'you are logged in to no database there' : `you are logged in to: ${others.join(', ')}`,
    });
  }
  context.writeOut(`Logged out of ${database}: removed its certificate and key${removedSection ? ` and the service [${database}] in ${context.serviceFile}` : ''}.\n`);
}

function logoutEverything(context: DbctlContext): void {
  const { name, proxy } = currentNames(context);
  const sections = removeSections(context, proxy, undefined);
  const dir = context.store.profileDir(name);
  context.store.removeProfile(name);
  context.writeOut(`Logged out of ${proxy}: removed ${dir}`);
  context.writeOut(sections.length === 0 ? '.\n' : ` and the services ${sections.map((section) => `[${section}]`).join(', ')} in ${context.serviceFile}.\n`);
}

/** The current profile's directory name and proxy; works on a damaged profile too. */
function currentNames(context: DbctlContext): { name: string; proxy: string } {
  const name = context.store.currentName();
  if (name === undefined) {
    throw new DbctlError('you are not logged in to a Gatehouse; nothing to log out of', { hint: 'dbctl status shows what dbctl keeps' });
  }
  const profile = context.store.peekProfile(name);
  return { name, proxy: profile?.proxy ?? name };
}

/** Removes the named sections (all of this proxy's when `names` is undefined) that dbctl wrote for `proxy`. */
function removeSections(context: DbctlContext, proxy: string, names: readonly string[] | undefined): string[] {
  let file = readServiceFile(context.serviceFile);
  const removed: string[] = [];
  for (const section of names ?? managedSectionNames(file, proxy)) {
    const result = removeManagedSection(file, section, proxy);
    if (result.removed) removed.push(section);
    file = result.file;
  }
  if (removed.length > 0) writeServiceFile(context.serviceFile, file);
  return removed;
}
