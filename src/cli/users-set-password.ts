// `gatehouse users set-password NAME [--password-stdin]`: sets (or replaces) a user's password. It
// works for gatehouse.yaml users too: for them the users file keeps a record with only the login
// secrets, and gatehouse.yaml stays the one place their roles and traits are written.
import type { Command } from 'commander';
import { hashPassword } from '../users/password-hash.js';
import { writeUsersFile, type StoredUser } from '../users/users-file.js';
import { reportCliError } from './cli-errors.js';
import { commandOutput } from './command-output.js';
import { choosePassword, generatedPasswordLines, loadUsersContext, reloadNote, requireKnownUser, timestamp, type UsersCommandDependencies } from './users-common.js';

interface SetPasswordOptions {
  config: string;
  passwordStdin?: boolean;
}

export function registerUsersSetPasswordCommand(users: Command, dependencies: UsersCommandDependencies): void {
  users
    .command('set-password')
    .description('set a user\'s password (also for users defined in gatehouse.yaml); prints a generated one unless --password-stdin')
    .argument('<name>', 'the user name')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .option('--password-stdin', 'read the password from stdin instead of generating one')
    .action(async (name: string, options: SetPasswordOptions, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        writeOut(await setPassword(name, options, dependencies));
      } catch (error) {
        reportCliError(error, writeErr);
      }
    });
}

async function setPassword(name: string, options: SetPasswordOptions, dependencies: UsersCommandDependencies): Promise<string> {
  const context = loadUsersContext(options.config);
  requireKnownUser(context, name);
  const { password, generated } = await choosePassword(options.passwordStdin, dependencies);
  const passwordHash = await hashPassword(password);
  const now = timestamp(dependencies);
  const existing = context.storedUser(name);
  const updated: StoredUser =
    existing === undefined
      ? // A gatehouse.yaml user's first login secret: a record with no roles or traits of its own.
        { name, roles: [], traits: {}, password_hash: passwordHash, created_at: now, updated_at: now }
      : { ...existing, password_hash: passwordHash, updated_at: now };
  const users = existing === undefined ? [...context.stored, updated] : context.stored.map((user) => (user.name === name ? updated : user));
  writeUsersFile(context.file, users);

  const lines = [`Set the password of ${name}.`];
  if (generated) lines.push(...generatedPasswordLines(name, password));
  lines.push(reloadNote(context.file), '');
  return lines.join('\n');
}
