// Replacing a file that other processes read (the users file, the locks file, dbctl's profile) so
// that a reader sees the old content or the new, never half of it: write a temporary file in the
// same directory with the final mode, flush it, then rename it over the target.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Missing parent directories are created 0700; an existing directory keeps its mode. */
export function writeFileAtomically(path: string, content: string, mode: number): void {
  const parent = dirname(path);
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const temporary = join(parent, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const descriptor = openSync(temporary, 'wx', mode);
  let open = true;
  try {
    // The mode given to open is filtered by the umask; say exactly what is meant.
    fchmodSync(descriptor, mode);
    writeSync(descriptor, content);
    fsyncSync(descriptor);
    open = false;
    closeSync(descriptor);
    renameSync(temporary, path);
  } catch (error) {
    if (open) closeSync(descriptor);
    rmSync(temporary, { force: true });
    throw error;
  }
}
