// Reading a file that holds secrets or decides access, which local users other than its owner must
// not be able to read or change: the users file (password hashes, TOTP seeds) and the locks file
// (whoever can write it lifts every lock). The checks run on the open descriptor, not the path, so
// the file checked is the file read. Windows has no POSIX modes to check; there the file's ACL is
// the operator's business.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';

export interface ProtectedFile {
  readonly path: string;
  /** How messages name it: "users file". */
  readonly noun: string;
  readonly maxBytes: number;
  /** Mode bits no one but the owner may have: 0o077 (not even reading) or 0o022 (no writing). */
  readonly forbiddenModeBits: number;
  /** What a looser mode lets other users do, for the message: "change the locks". */
  readonly exposure: string;
}

/**
 * The file's text; undefined when it does not exist. Throws ConfigError (GH_ERR_CONFIG_INVALID) when
 * it cannot be read, is not a regular file or is too big, and GatehouseError GH_ERR_KEY_PERMISSIONS
 * with the chmod command when its mode lets others in.
 */
export function readProtectedFile(file: ProtectedFile): string | undefined {
  const { path, noun } = file;
  let descriptor: number;
  try {
    descriptor = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadable(file, error);
  }
  try {
    const stats = fstatSync(descriptor);
    if (!stats.isFile()) throw wholeFileProblem(path, `cannot read the ${noun}: it is not a regular file`);
    const mode = stats.mode & 0o777;
    if (process.platform !== 'win32' && (mode & file.forbiddenModeBits) !== 0) {
      throw new GatehouseError(
        ErrorCodes.KEY_PERMISSIONS,
        `${noun} ${path} has mode ${mode.toString(8).padStart(4, '0')}, so users other than its owner can ${file.exposure}; fix it with: chmod 600 ${shellQuote(path)}`,
        { sqlState: SqlState.INTERNAL_ERROR },
      );
    }
    if (stats.size > file.maxBytes) throw wholeFileProblem(path, `the ${noun} is ${stats.size} bytes; Gatehouse reads ${noun}s of at most ${file.maxBytes} bytes`);
    return readFileSync(descriptor, 'utf8');
  } catch (error) {
    if (error instanceof GatehouseError) throw error;
    throw unreadable(file, error);
  } finally {
    closeSync(descriptor);
  }
}

function wholeFileProblem(file: string, message: string): ConfigError {
  return new ConfigError([{ file, line: 0, column: 0, path: '', message }]);
}

function unreadable(file: ProtectedFile, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory, not a file' : (code ?? String(error));
  return wholeFileProblem(file.path, `cannot read the ${file.noun}: ${reason}`);
}

/** Quotes a path for the chmod command in a message when it holds anything a shell would split or expand. */
function shellQuote(path: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
