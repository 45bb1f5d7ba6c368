// The locks file, <data_dir>/locks.yaml: the locks administrators set with `gatehouse locks add`
// (through the admin API). It lives in the data directory rather than in memory so that several
// Gatehouse processes sharing that directory enforce the same locks, and so that a lock survives a
// restart. It is YAML read with gatehouse.yaml's machinery, so a bad hand edit is reported as
// FILE:LINE:COL: PATH: MESSAGE; it is written 0600 through a temporary file renamed over the old
// one, so a process polling it never reads half a file.
import { randomBytes } from 'node:crypto';
import { Document } from 'yaml';
import { z } from 'zod';
import { badIdentityText } from '../ca/route-extension.js';
import { parseYamlDocument } from '../config/load.js';
import { writeFileAtomically } from '../files/atomic-write.js';
import { readProtectedFile } from '../files/protected-file.js';

export interface Lock {
  /** Random, 12 hex digits: what `gatehouse locks rm` takes. */
  readonly id: string;
  /** The Gatehouse user locked out. */
  readonly user: string;
  /** Only this database; absent: every database. */
  readonly database?: string;
  readonly reason: string;
  /** The administrator who set it. */
  readonly created_by: string;
  /** ISO-8601 UTC. */
  readonly created_at: string;
  /** ISO-8601 UTC; absent: until removed. */
  readonly expires_at?: string;
}

export const LOCKS_FILE_NAME = 'locks.yaml';
const FILE_MODE = 0o600;
/** Far more than any real set of locks; a bigger file is a mistake, not something to parse into memory. */
export const MAX_LOCKS_FILE_BYTES = 4 * 1024 * 1024;

const text = z.string().min(1, { error: 'must not be empty' });
const identityText = (what: string) =>
  z.string().superRefine((value, ctx) => {
    const problem = badIdentityText(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `cannot be a ${what}: ${problem}` });
  });
const utcTime = () => z.iso.datetime({ error: (issue) => (issue.input === undefined ? undefined : 'must be a UTC time such as 2024-05-01T12:00:00.000Z') });

const lockSchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{6,64}$/, { error: 'must be lowercase hex digits, as "gatehouse locks add" writes them' }),
  user: identityText('user name'),
  database: identityText('database name').optional(),
  reason: text,
  created_by: text,
  created_at: utcTime(),
  expires_at: utcTime().optional(),
});

const locksFileSchema = z.strictObject({
  version: z.literal('v1'),
  locks: z.array(lockSchema).default([]),
});

export function newLockId(): string {
  return randomBytes(6).toString('hex');
}

/** The locks in `path`; a missing file is no locks. Throws ConfigError (FILE:LINE:COL lines) or, for a file others may write, GH_ERR_KEY_PERMISSIONS. */
export function readLocksFile(path: string): Lock[] {
  const content = readProtectedFile({ path, noun: 'locks file', maxBytes: MAX_LOCKS_FILE_BYTES, forbiddenModeBits: 0o022, exposure: 'change the locks' });
  return content === undefined ? [] : parseLocksFile(content, path);
}

/** Validates locks file text; `file` names it in messages. Throws ConfigError. */
export function parseLocksFile(content: string, file: string): Lock[] {
  const parsed = parseYamlDocument(content, file, locksFileSchema);
  return parsed === undefined ? [] : parsed.locks.map(withoutUndefined);
}

/** Writes the locks atomically: a 0600 temporary file in the same directory, flushed, then renamed over `path`. */
export function writeLocksFile(path: string, locks: readonly Lock[]): void {
  const content = formatLocksFile(locks);
  // Never write a file the readers would refuse.
  parseLocksFile(content, path);
  writeFileAtomically(path, content, FILE_MODE);
}

export function formatLocksFile(locks: readonly Lock[]): string {
  const document = new Document({
    version: 'v1',
    locks: locks.map(withoutUndefined),
  });
  document.commentBefore =
    ' Gatehouse locks, written by "gatehouse locks add/rm" through the admin API (see docs/admin.md).\n' +
    ' Every Gatehouse sharing this data directory enforces them; expired locks are ignored.';
  return document.toString();
}

/** A lock with its keys in the file's order and no undefined members (read from the schema, or written). */
function withoutUndefined(lock: Lock | z.output<typeof lockSchema>): Lock {
  return {
    id: lock.id,
    user: lock.user,
    ...(lock.database === undefined ? {} : { database: lock.database }),
    reason: lock.reason,
    created_by: lock.created_by,
    created_at: lock.created_at,
    ...(lock.expires_at === undefined ? {} : { expires_at: lock.expires_at }),
  };
}
