// `gatehouse users ls [--format text|json]`: every user who exists for Gatehouse — gatehouse.yaml's
// and the users file's — with where each is defined, the roles that apply, and whether a password
// and a TOTP are set. Never a hash or a seed.
import { Option, type Command } from 'commander';
import { withStoredUsers } from '../users/merge-users.js';
import { reportCliError } from './cli-errors.js';
import { commandOutput } from './command-output.js';
import { loadUsersContext } from './users-common.js';

type Source = 'yaml' | 'file' | 'yaml+file';

interface ListedUser {
  name: string;
  source: Source;
  roles: string[];
  traits: Record<string, string[]>;
  password: boolean;
  totp: boolean;
}

export function registerUsersLsCommand(users: Command): void {
  users
    .command('ls')
    .description('list users: where each is defined, its roles, and whether a password and TOTP are set')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((options: { config: string; format: 'text' | 'json' }, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        const { users, warnings } = listUsers(options.config);
        for (const warning of warnings) writeErr(`warning: ${warning}\n`);
        writeOut(options.format === 'json' ? `${JSON.stringify({ users }, null, 2)}\n` : table(users));
      } catch (error) {
        reportCliError(error, writeErr);
      }
    });
}

function listUsers(configFile: string): { users: ListedUser[]; warnings: string[] } {
  const context = loadUsersContext(configFile);
  const { config, warnings } = withStoredUsers(context.config, context.stored);
  const users = config.users.map((user): ListedUser => {
    const stored = context.storedUser(user.name);
    const inYaml = context.yamlUser(user.name) !== undefined;
    return {
      name: user.name,
      source: inYaml ? (stored === undefined ? 'yaml' : 'yaml+file') : 'file',
      roles: [...user.roles],
      traits: Object.fromEntries(Object.entries(user.traits).map(([key, values]) => [key, [...values]])),
      password: stored?.password_hash !== undefined,
      totp: stored?.totp_secret !== undefined,
    };
  });
  users.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { users, warnings };
}

function table(users: readonly ListedUser[]): string {
  if (users.length === 0) return 'No users. Add one with: gatehouse users add NAME --roles ROLE\n';
  const rows = [
    ['NAME', 'SOURCE', 'ROLES', 'PASSWORD', 'TOTP'],
    ...users.map((user) => [user.name, user.source, user.roles.length === 0 ? '-' : user.roles.join(','), yesNo(user.password), yesNo(user.totp)]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ')).join('\n') + '\n';
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}
