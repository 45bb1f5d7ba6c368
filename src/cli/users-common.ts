// What the `gatehouse users` subcommands share: loading gatehouse.yaml and the users file it names,
// reading or generating a password, parsing --roles and --traits, and printing a TOTP enrolment.
// Each command reads the users file, changes one record and writes the whole file back atomically;
// the running daemon notices the new file by polling it.
import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import { badIdentityText } from '../ca/route-extension.js';
import { parseHostPort } from '../config/address.js';
import { loadConfigFile } from '../config/load.js';
import type { GatehouseConfig, UserConfig } from '../config/types.js';
import { otpauthUri } from '../users/totp.js';
import { readUsersFile, type StoredUser } from '../users/users-file.js';

/** Injected by tests; the executable uses the process's stdin and clock. */
export interface UsersCommandDependencies {
  stdin?: NodeJS.ReadableStream;
  now?: () => Date;
}

export interface UsersContext {
  config: GatehouseConfig;
  /** proxy.users_file */
  file: string;
  stored: StoredUser[];
  /** The gatehouse.yaml user of this name, if any. */
  yamlUser(name: string): UserConfig | undefined;
  /** The users-file record of this name, if any. */
  storedUser(name: string): StoredUser | undefined;
}

export function loadUsersContext(configFile: string): UsersContext {
  const config = loadConfigFile(configFile);
  const file = config.proxy.users_file;
  const stored = readUsersFile(file);
  return {
    config,
    file,
    stored,
    yamlUser: (name) => config.users.find((user) => user.name === name),
    storedUser: (name) => stored.find((user) => user.name === name),
  };
}

/** Refuses a name Gatehouse could not put into a certificate, or one a person would mistype forever. */
export function checkUserName(name: string): void {
  const problem = badIdentityText(name) ?? (name.trim() !== name ? 'it starts or ends with white space' : undefined);
  if (problem !== undefined) throw new Error(`${JSON.stringify(name)} cannot be a user name: ${problem}`);
}

/** The user, from gatehouse.yaml or the users file; refused with what to do when neither has it. */
export function requireKnownUser(context: UsersContext, name: string): void {
  if (context.yamlUser(name) !== undefined || context.storedUser(name) !== undefined) return;
  throw new Error(
    `unknown user ${JSON.stringify(name)}: neither ${context.config.source} nor ${context.file} defines it; ` +
      `add it with: gatehouse users add ${name} --roles ROLE`,
  );
}

/** "a,b" → ['a', 'b'], each a role gatehouse.yaml defines. */
export function parseRoles(text: string, config: GatehouseConfig): string[] {
  const roles = [...new Set(text.split(',').map((role) => role.trim()).filter((role) => role !== ''))];
  if (roles.length === 0) throw new Error('--roles needs at least one role, e.g. --roles access');
  const defined = config.roles.map((role) => role.name);
  for (const role of roles) {
    if (!defined.includes(role)) {
      const listing = defined.length === 0 ? 'it defines no roles' : `roles: ${defined.join(', ')}`;
      throw new Error(`role ${JSON.stringify(role)} is not defined in ${config.source} (${listing})`);
    }
  }
  return roles;
}

/** Commander collector: every --traits value, in order. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** ['db_users=a,db_names=app', 'db_users=b'] → { db_users: ['a', 'b'], db_names: ['app'] }. */
export function parseTraits(values: readonly string[]): Record<string, string[]> {
  const traits: Record<string, string[]> = {};
  for (const entry of values.flatMap((value) => value.split(','))) {
    const text = entry.trim();
    if (text === '') continue;
    const equals = text.indexOf('=');
    const key = equals < 0 ? '' : text.slice(0, equals).trim();
    const value = equals < 0 ? '' : text.slice(equals + 1).trim();
    if (key === '' || value === '') throw new Error(`--traits: ${JSON.stringify(text)} is not KEY=VALUE; write e.g. --traits db_users=app_reader,db_names=app`);
    const list = Object.hasOwn(traits, key) ? (traits[key] as string[]) : (traits[key] = []);
    if (!list.includes(value)) list.push(value);
  }
  return traits;
}

const MIN_PASSWORD_CHARACTERS = 8;
const MAX_PASSWORD_BYTES = 1024;
const GENERATED_PASSWORD_BYTES = 18;

/** Reads all of stdin as the password, without one trailing newline (echo and heredocs add one). */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_PASSWORD_BYTES + 2) throw new Error(`--password-stdin: the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
    chunks.push(bytes);
  }
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') {
    throw new Error(`--password-stdin: stdin was empty; pipe the password in, e.g.: printf '%s' "$PASSWORD" | gatehouse users ... --password-stdin`);
  }
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw new Error(`--password-stdin: the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  if ([...password].length < MIN_PASSWORD_CHARACTERS) {
    throw new Error(`--password-stdin: the password has fewer than ${MIN_PASSWORD_CHARACTERS} characters; choose a longer one, or leave out --password-stdin to have one generated`);
  }
  return password;
}

/** 24 characters of base64url from 18 random bytes (144 bits). */
export function generatePassword(): string {
  return randomBytes(GENERATED_PASSWORD_BYTES).toString('base64url');
}

/** The password to set: from stdin when asked, else a generated one (which the caller prints once). */
export async function choosePassword(passwordStdin: boolean | undefined, dependencies: UsersCommandDependencies): Promise<{ password: string; generated: boolean }> {
  if (passwordStdin === true) return { password: await readPasswordFromStdin(dependencies.stdin ?? process.stdin), generated: false };
  return { password: generatePassword(), generated: true };
}

export function generatedPasswordLines(name: string, password: string): string[] {
  return [`Generated password for ${name} (it will not be shown again; hand it over safely):`, `  ${password}`];
}

/** The otpauth URI, the secret for manual entry, and (unless --no-qr) a QR code to scan. */
export async function totpEnrolmentLines(config: GatehouseConfig, name: string, secret: string, qr: boolean): Promise<string[]> {
  const host = parseHostPort(config.proxy.public_addr, 443).host;
  const uri = otpauthUri({ issuer: 'Gatehouse', account: `${name}@${host}`, secret });
  const lines = [
    `TOTP for ${name}: add it to an authenticator app${qr ? ' by scanning the QR code below, or' : ''} with this URI:`,
    `  ${uri}`,
    `  (secret for manual entry: ${secret}; it will not be shown again)`,
  ];
  if (qr) lines.push((await QRCode.toString(uri, { type: 'terminal', small: true })).trimEnd());
  return lines;
}

export function reloadNote(file: string): string {
  return `Wrote ${file}; a running Gatehouse picks up the change within a few seconds.`;
}

export function timestamp(dependencies: UsersCommandDependencies): string {
  return (dependencies.now?.() ?? new Date()).toISOString();
}
