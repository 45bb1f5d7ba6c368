// The users file (proxy.users_file, default <data_dir>/users.yaml): the users `gatehouse users` adds,
// and the passwords and TOTP secrets of users defined in gatehouse.yaml. It is YAML read with the
// same machinery as gatehouse.yaml, so a mistake is reported as FILE:LINE:COL: PATH: MESSAGE. It
// holds password hashes and TOTP seeds, so like a private key it is written 0600 (in a 0700
// directory) and refused when other local users could read it. Writes go to a temporary file that
// is renamed over the old one, so the daemon polling it never reads half a file.
import { Document } from 'yaml';
import { z } from 'zod';
import { badIdentityText } from '../ca/route-extension.js';
import type { LocatedIssue } from '../config/cross-checks.js';
import { formatPath } from '../config/issues.js';
import { parseYamlDocument } from '../config/load.js';
import { SourceMap } from '../config/source-map.js';
import { parsePasswordHash } from './password-hash.js';
import { decodeBase32 } from './totp.js';
import { writeFileAtomically } from '../files/atomic-write.js';
import { readProtectedFile } from '../files/protected-file.js';

export interface StoredUser {
  name: string;
  roles: string[];
  traits: Record<string, string[]>;
  password_hash?: string;
  totp_secret?: string;
  created_at: string;
  updated_at: string;
}

const FILE_MODE = 0o600;
/** Far more than any real users file; a bigger one is a mistake, not something to parse into memory. */
export const MAX_USERS_FILE_BYTES = 8 * 1024 * 1024;
const MIN_TOTP_SECRET_BYTES = 10;
const MAX_TOTP_SECRET_BYTES = 64;

const nonEmpty = z.string().min(1, { error: 'must not be empty' });

/** A string field holding a secret: its messages never repeat what was written there. */
function secretText() {
  return z.string({ error: (issue) => (issue.input === undefined ? undefined : 'must be a string') });
}

function utcTime() {
  return z.iso.datetime({ error: (issue) => (issue.input === undefined ? undefined : 'must be a UTC time such as 2024-05-01T12:00:00.000Z') });
}

const storedUserSchema = z.strictObject({
  name: z.string().superRefine((name, ctx) => {
    const problem = badIdentityText(name);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `cannot be a user name: ${problem}` });
  }),
  roles: z.array(nonEmpty).default([]),
  traits: z.record(nonEmpty, z.array(z.string())).default({}),
  password_hash: secretText()
    .superRefine((encoded, ctx) => {
      const parsed = parsePasswordHash(encoded);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
    })
    .optional(),
  totp_secret: secretText()
    .superRefine((secret, ctx) => {
      const problem = badTotpSecret(secret);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  created_at: utcTime(),
  updated_at: utcTime(),
});

const usersFileSchema = z.strictObject({
  version: z.literal('v1'),
  users: z.array(storedUserSchema).default([]),
});

/**
 * The users in `path`; a missing file is no users. Throws ConfigError (GH_ERR_CONFIG_INVALID) with
 * one FILE:LINE:COL line per problem, or GatehouseError GH_ERR_KEY_PERMISSIONS for a file other
 * local users can read.
 */
export function readUsersFile(path: string): StoredUser[] {
  const text = readProtectedFile({
    path,
    noun: 'users file',
    maxBytes: MAX_USERS_FILE_BYTES,
    forbiddenModeBits: 0o077,
    exposure: 'read the password hashes and TOTP secrets in it',
  });
  return text === undefined ? [] : parseUsersFile(text, path);
}

/** Validates users file text; `file` names it in messages. Throws ConfigError. */
export function parseUsersFile(text: string, file: string): StoredUser[] {
  // An empty file (or one with only comments) has no users yet.
  const parsed = parseYamlDocument(text, file, usersFileSchema, duplicateNames);
  return parsed === undefined ? [] : parsed.users.map(withoutUndefined);
}

/** Writes the users atomically: a 0600 temporary file in the same directory, flushed, then renamed over `path`. */
export function writeUsersFile(path: string, users: readonly StoredUser[]): void {
  const text = formatUsersFile(users);
  // Never write a file the daemon would refuse: check it the way it will be read.
  parseUsersFile(text, path);
  writeFileAtomically(path, text, FILE_MODE);
}

/** The YAML text of a users file, keys in a fixed order. */
export function formatUsersFile(users: readonly StoredUser[]): string {
  const document = new Document({
    version: 'v1',
    users: users.map((user) => ({
      name: user.name,
      roles: [...user.roles],
      traits: Object.fromEntries(Object.entries(user.traits).map(([key, values]) => [key, [...values]])),
      ...(user.password_hash === undefined ? {} : { password_hash: user.password_hash }),
      ...(user.totp_secret === undefined ? {} : { totp_secret: user.totp_secret }),
      created_at: user.created_at,
      updated_at: user.updated_at,
    })),
  });
  document.commentBefore =
    ' Gatehouse users, written by "gatehouse users" (see docs/users.md). It holds password hashes and\n' +
    ' TOTP secrets: keep it readable by its owner only (chmod 600).';
  return document.toString();
}

/** Why a base32 TOTP secret cannot be used, or undefined; never repeats the secret. */
export function badTotpSecret(secret: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = decodeBase32(secret);
  } catch (error) {
    return `is ${(error as Error).message}; enrol again with "gatehouse users totp enroll"`;
  }
  if (bytes.length < MIN_TOTP_SECRET_BYTES || bytes.length > MAX_TOTP_SECRET_BYTES) {
    return `is a ${bytes.length}-byte secret; Gatehouse accepts ${MIN_TOTP_SECRET_BYTES} to ${MAX_TOTP_SECRET_BYTES} bytes`;
  }
  return undefined;
}

function duplicateNames(raw: unknown, sourceMap: SourceMap): LocatedIssue[] {
  const users = typeof raw === 'object' && raw !== null ? (raw as { users?: unknown }).users : undefined;
  if (!Array.isArray(users)) return [];
  const firstIndex = new Map<string, number>();
  const issues: LocatedIssue[] = [];
  for (const [index, user] of users.entries()) {
    const name: unknown = typeof user === 'object' && user !== null ? (user as { name?: unknown }).name : undefined;
    if (typeof name !== 'string') continue;
    const first = firstIndex.get(name);
    if (first === undefined) {
      firstIndex.set(name, index);
      continue;
    }
    const firstPath = ['users', first, 'name'];
    issues.push({
      path: ['users', index, 'name'],
      anchor: 'value',
      message: `duplicate user name ${JSON.stringify(name)} (first defined at ${formatPath(firstPath)}, line ${sourceMap.position(firstPath).line})`,
    });
  }
  return issues;
}

/** zod leaves absent optional keys out already; this also gives each user fresh arrays the caller may change. */
function withoutUndefined(user: z.output<typeof storedUserSchema>): StoredUser {
  return {
    name: user.name,
    roles: [...user.roles],
    traits: { ...user.traits },
    ...(user.password_hash === undefined ? {} : { password_hash: user.password_hash }),
    ...(user.totp_secret === undefined ? {} : { totp_secret: user.totp_secret }),
    created_at: user.created_at,
    updated_at: user.updated_at,
  };
}
