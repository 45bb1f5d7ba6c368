// Private key files: written so only their owner can read them, and refused when someone else
// could have read them, the way ssh and libpq refuse a group- or world-readable key. A CA key that
// other local users could copy lets them mint certificates for anyone.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';

const KEY_FILE_MODE = 0o600;
const KEY_DIR_MODE = 0o700;

export function writePrivateKeyFile(path: string, pem: string): void {
  const parent = dirname(path);
  if (!existsSync(parent)) mkdirSync(parent, { recursive: true, mode: KEY_DIR_MODE });
  // The mode given to writeFileSync applies only to a file it creates; an existing file keeps its
  // mode, so narrow it first, before the new key is in it.
  if (existsSync(path)) chmodSync(path, KEY_FILE_MODE);
  writeFileSync(path, pem, { mode: KEY_FILE_MODE });
}

export function readPrivateKeyFile(path: string): string {
  let mode: number;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) throw unreadable(path, 'it is not a regular file');
    mode = stats.mode & 0o777;
  } catch (error) {
    if (error instanceof GatehouseError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw unreadable(path, code === 'ENOENT' ? 'it does not exist' : (code ?? String(error)));
  }
  // Windows has no POSIX modes to check; there the file's ACL is the operator's business.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new GatehouseError(
      ErrorCodes.KEY_PERMISSIONS,
      `private key file ${path} has mode ${mode.toString(8).padStart(4, '0')}, so users other than its owner can access it; ` +
        `fix it with: chmod 600 ${shellQuote(path)}`,
      { sqlState: SqlState.INTERNAL_ERROR },
    );
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadable(path, (error as NodeJS.ErrnoException).code ?? String(error));
  }
}

function unreadable(path: string, reason: string): GatehouseError {
  return new GatehouseError(ErrorCodes.KEY_PERMISSIONS, `cannot read private key file ${path}: ${reason}`, {
    sqlState: SqlState.INTERNAL_ERROR,
  });
}

/** Quotes a path for the chmod command in the message when it holds anything a shell would split or expand. */
function shellQuote(path: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
