// `gatehouse users rm NAME`: removes a user from the users file. For a gatehouse.yaml user that
// removes only its stored password and TOTP (it can no longer log in with dbctl); the user itself
// is gatehouse.yaml's to remove.
import type { Command } from 'commander';
import { writeUsersFile } from '../users/users-file.js';
import { reportCliError } from './cli-errors.js';
import { commandOutput } from './command-output.js';
import { loadUsersContext, reloadNote, requireKnownUser } from './users-common.js';

export function registerUsersRmCommand(users: Command): void {
  users
    .command('rm')
    .description('remove a user from the users file (for a gatehouse.yaml user: its password and TOTP)')
    .argument('<name>', 'the user name')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .action((name: string, options: { config: string }, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        writeOut(remove(name, options.config));
      } catch (error) {
        reportCliError(error, writeErr);
      }
    });
}

function remove(name: string, configFile: string): string {
  const context = loadUsersContext(configFile);
  requireKnownUser(context, name);
  const inYaml = context.yamlUser(name) !== undefined;
  if (context.storedUser(name) === undefined) {
    throw new Error(
      `user ${JSON.stringify(name)} is defined in ${context.config.source}, and the users file holds nothing for it; remove it from ${context.config.source} instead`,
    );
  }
  writeUsersFile(context.file, context.stored.filter((user) => user.name !== name));
  const what = inYaml
    ? `Removed the stored password and TOTP of ${name}; ${name} is still defined in ${context.config.source} but can no longer log in with dbctl.`
    : `Removed user ${name}.`;
  return `${what}\n${reloadNote(context.file)}\n`;
}
