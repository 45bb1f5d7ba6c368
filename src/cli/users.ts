// `gatehouse users ...`: managing the people who log in with dbctl. They live in the users file
// (proxy.users_file) next to gatehouse.yaml's users; a running daemon picks changes up by itself.
import type { Command } from 'commander';
import { registerUsersAddCommand } from './users-add.js';
import type { UsersCommandDependencies } from './users-common.js';
import { registerUsersLsCommand } from './users-ls.js';
import { registerUsersRmCommand } from './users-rm.js';
import { registerUsersSetPasswordCommand } from './users-set-password.js';
import { registerUsersTotpCommand } from './users-totp.js';

export function registerUsersCommand(program: Command, dependencies: UsersCommandDependencies = {}): void {
  const users =
    program.commands.find((command) => command.name() === 'users') ??
    program.command('users').description('manage users who log in with dbctl: passwords, TOTP, roles (see docs/users.md)');
  registerUsersAddCommand(users, dependencies);
  registerUsersSetPasswordCommand(users, dependencies);
  registerUsersRmCommand(users);
  registerUsersLsCommand(users);
  registerUsersTotpCommand(users, dependencies);
}
