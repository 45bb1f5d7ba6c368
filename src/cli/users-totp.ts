// `gatehouse users totp enroll NAME [--no-qr] [--force]` and `gatehouse users totp rm NAME`: a TOTP
// authenticator as a user's second factor. Enrolling prints the otpauth:// URI (and a QR code) once;
// from then on that user's logins need a current code. Replacing an existing enrolment takes
// --force, so a mistyped name cannot silently lock a colleague's phone out.
import type { Command } from 'commander';
import { newTotpSecret } from '../users/totp.js';
import { writeUsersFile, type StoredUser } from '../users/users-file.js';
import { reportCliError } from './cli-errors.js';
import { commandOutput } from './command-output.js';
import { loadUsersContext, reloadNote, requireKnownUser, timestamp, totpEnrolmentLines, type UsersCommandDependencies } from './users-common.js';

export function registerUsersTotpCommand(users: Command, dependencies: UsersCommandDependencies): void {
  const totp = users.command('totp').description('enrol or remove a TOTP authenticator (second factor) for a user');
  totp
    .command('enroll')
    .description('enrol a TOTP authenticator: prints an otpauth:// URI and a QR code to scan')
    .argument('<name>', 'the user name')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .option('--no-qr', 'print the URI without the QR code')
    .option('--force', 'replace an existing enrolment')
    .action(async (name: string, options: { config: string; qr: boolean; force?: boolean }, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        writeOut(await enroll(name, options, dependencies, writeErr));
      } catch (error) {
        reportCliError(error, writeErr);
      }
    });
  totp
    .command('rm')
    .description("remove a user's TOTP authenticator: logins need only the password again")
    .argument('<name>', 'the user name')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .action((name: string, options: { config: string }, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        writeOut(removeTotp(name, options.config, dependencies));
      } catch (error) {
        reportCliError(error, writeErr);
      }
    });
}

async function enroll(
  name: string,
  options: { config: string; qr: boolean; force?: boolean },
  dependencies: UsersCommandDependencies,
  writeErr: (text: string) => void,
): Promise<string> {
  const context = loadUsersContext(options.config);
  requireKnownUser(context, name);
  const existing = context.storedUser(name);
  if (existing?.totp_secret !== undefined && options.force !== true) {
    throw new Error(`${name} already has a TOTP authenticator enrolled; to replace it (the old one stops working), run: gatehouse users totp enroll ${name} --force`);
  }
  const secret = newTotpSecret();
  const now = timestamp(dependencies);
  const updated: StoredUser =
    existing === undefined
      ? { name, roles: [], traits: {}, totp_secret: secret, created_at: now, updated_at: now }
      : { ...existing, totp_secret: secret, updated_at: now };
  const users = existing === undefined ? [...context.stored, updated] : context.stored.map((user) => (user.name === name ? updated : user));
  writeUsersFile(context.file, users);
  if (updated.password_hash === undefined) {
    writeErr(`note: ${name} has no password yet, so cannot log in; set one with: gatehouse users set-password ${name}\n`);
  }
  const lines = [
    `Enrolled a TOTP authenticator for ${name}; from now on its logins need the current 6-digit code too.`,
    ...(await totpEnrolmentLines(context.config, name, secret, options.qr)),
    reloadNote(context.file),
    '',
  ];
  return lines.join('\n');
}

function removeTotp(name: string, configFile: string, dependencies: UsersCommandDependencies): string {
  const context = loadUsersContext(configFile);
  requireKnownUser(context, name);
  const existing = context.storedUser(name);
  if (existing?.totp_secret === undefined) throw new Error(`${name} has no TOTP authenticator enrolled; nothing to remove`);
  const { totp_secret: _removed, ...rest } = existing;
  const updated: StoredUser = { ...rest, updated_at: timestamp(dependencies) };
  // A gatehouse.yaml user's record that no longer holds any secret is dropped rather than kept empty.
  const keep = context.yamlUser(name) === undefined || updated.password_hash !== undefined;
  const users = keep ? context.stored.map((user) => (user.name === name ? updated : user)) : context.stored.filter((user) => user.name !== name);
  writeUsersFile(context.file, users);
  return `Removed the TOTP authenticator of ${name}; its logins need only the password now.\n${reloadNote(context.file)}\n`;
}
