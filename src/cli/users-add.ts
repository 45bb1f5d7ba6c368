// `gatehouse users add NAME --roles a,b [--traits k=v,...] [--password-stdin] [--totp]`: adds a
// user to the users file, with a password read from stdin or generated and printed once, and
// optionally a TOTP enrolment. Names already taken, in gatehouse.yaml or the users file, and roles
// gatehouse.yaml does not define are refused, so a typo never creates a user who can do nothing.
import type { Command } from 'commander';
import { hashPassword } from '../users/password-hash.js';
import { newTotpSecret } from '../users/totp.js';
import { writeUsersFile, type StoredUser } from '../users/users-file.js';
import { reportCliError } from './cli-errors.js';
import { commandOutput } from './command-output.js';
import {
  checkUserName,
  choosePassword,
  collect,
  generatedPasswordLines,
  loadUsersContext,
  parseRoles,
  parseTraits,
  reloadNote,
  timestamp,
  totpEnrolmentLines,
  type UsersCommandDependencies,
} from './users-common.js';

interface AddOptions {
  config: string;
  roles: string;
  traits: string[];
  passwordStdin?: boolean;
  totp?: boolean;
  qr: boolean;
}

export function registerUsersAddCommand(users: Command, dependencies: UsersCommandDependencies): void {
  users
    .command('add')
    .description('add a user who logs in with dbctl; prints a generated password unless --password-stdin')
    .argument('<name>', 'the user name (what dbctl login --user takes and certificates carry)')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .requiredOption('--roles <roles>', 'comma-separated roles from the config, e.g. access,ops')
    .option('--traits <traits>', 'KEY=VALUE pairs, comma-separated or repeated; repeat a key for several values, e.g. db_users=app_reader,db_names=app', collect, [])
    .option('--password-stdin', 'read the password from stdin instead of generating one')
    .option('--totp', 'also enrol a TOTP authenticator (prints an otpauth:// URI and a QR code)')
    .option('--no-qr', 'with --totp, print the URI without the QR code')
    .action(async (name: string, options: AddOptions, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        writeOut(await add(name, options, dependencies));
      } catch (error) {
        reportCliError(error, writeErr);
      }
    });
}

async function add(name: string, options: AddOptions, dependencies: UsersCommandDependencies): Promise<string> {
  checkUserName(name);
  const context = loadUsersContext(options.config);
  if (context.yamlUser(name) !== undefined) {
    throw new Error(
      `user ${JSON.stringify(name)} is already defined in ${context.config.source}; ` +
        `to let it log in with dbctl, give it a password with: gatehouse users set-password ${name}`,
    );
  }
  if (context.storedUser(name) !== undefined) {
    throw new Error(`user ${JSON.stringify(name)} already exists in ${context.file}; change its password with "gatehouse users set-password ${name}", or remove it first with "gatehouse users rm ${name}"`);
  }
  const roles = parseRoles(options.roles, context.config);
  const traits = parseTraits(options.traits);
  const { password, generated } = await choosePassword(options.passwordStdin, dependencies);
  const now = timestamp(dependencies);
  const totpSecret = options.totp === true ? newTotpSecret() : undefined;
  const user: StoredUser = {
    name,
    roles,
    traits,
    password_hash: await hashPassword(password),
    ...(totpSecret === undefined ? {} : { totp_secret: totpSecret }),
    created_at: now,
    updated_at: now,
  };
  writeUsersFile(context.file, [...context.stored, user]);

  const lines = [`Added user ${name} (roles: ${roles.join(', ')}).`];
  if (generated) lines.push(...generatedPasswordLines(name, password));
  if (totpSecret !== undefined) lines.push(...(await totpEnrolmentLines(context.config, name, totpSecret, options.qr)));
  lines.push(reloadNote(context.file), '');
  return lines.join('\n');
}
