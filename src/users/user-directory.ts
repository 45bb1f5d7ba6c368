// The daemon's live view of the users file. `gatehouse users` rewrites the file (atomically) while
// the daemon runs; polling its stat (fs.watchFile) notices that, also across renames and on
// filesystems where inotify-style events are unreliable, and the new users apply without a restart.
// A file that no longer reads (a bad edit, loose permissions) is logged with its FILE:LINE:COL and
// the users read before stay in force, so a typo never locks everyone out. Nothing from a user's
// record is ever logged: the file holds password hashes and TOTP seeds.
import { statSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { deepFreeze } from '../config/freeze.js';
import type { Logger } from '../logging.js';
import { readUsersFile, type StoredUser } from './users-file.js';

export const DEFAULT_USERS_POLL_INTERVAL_MS = 1000;

export interface UserDirectoryOptions {
  /** proxy.users_file */
  path: string;
  logger: Logger;
  /** How often the file's stat is checked; default 1 s. */
  pollIntervalMs?: number;
}

export class UserDirectory {
  private readonly path: string;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;
  private current: readonly StoredUser[] = [];
  private byName = new Map<string, StoredUser>();
  private listener: (() => void) | undefined;
  private onChange: (() => void) | undefined;
  private recheck: NodeJS.Timeout | undefined;
  /** What the file looked like when it was last read (see fileSignature); undefined before the first read. */
  private loadedSignature: string | undefined;

  constructor(options: UserDirectoryOptions) {
    this.path = options.path;
    this.logger = options.logger;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_USERS_POLL_INTERVAL_MS;
  }

  /**
   * Reads the file now, then watches it. `onChange` runs after every successful read, the first one
   * included, so the caller can (re)build its merged config in one place. A file that cannot be read
   * at start is logged and leaves the directory empty (gatehouse.yaml users still work); it does
   * not stop the daemon.
   */
  start(onChange: () => void): void {
    if (this.listener !== undefined) return;
    this.onChange = onChange;
    this.reload(onChange, 'loaded');
    // Each event stats the file again rather than trusting the event's stats: node reports a file
    // missing at start with a late all-zero event that can arrive after the file was created and read.
    this.listener = () => this.reloadIfChanged(onChange);
    // persistent: false — watching the file must not keep a stopping process alive.
    watchFile(this.path, { interval: this.pollIntervalMs, persistent: false }, this.listener);
    // watchFile compares each poll with its own first stat, taken a moment after the read above; a
    // write in between would go unnoticed until the next one. One look after the first poll closes that gap.
    this.recheck = setTimeout(() => {
      this.recheck = undefined;
      if (this.listener !== undefined) this.reloadIfChanged(onChange);
    }, this.pollIntervalMs);
    this.recheck.unref();
  }

  stop(): void {
    if (this.recheck !== undefined) clearTimeout(this.recheck);
    this.recheck = undefined;
    if (this.listener === undefined) return;
    unwatchFile(this.path, this.listener);
    this.listener = undefined;
  }

  /**
   * Reads the file now if it changed since the last read. A login calls this first, so a password
   * set a moment ago works at once instead of after the next poll (one stat per login).
   */
  refresh(): void {
    if (this.listener !== undefined && this.onChange !== undefined) this.reloadIfChanged(this.onChange);
  }

  users(): readonly StoredUser[] {
    return this.current;
  }

  find(name: string): StoredUser | undefined {
    return this.byName.get(name);
  }

  private reloadIfChanged(onChange: () => void): void {
    if (currentSignature(this.path) !== this.loadedSignature) this.reload(onChange, 'reloaded');
  }

  private reload(onChange: () => void, verb: 'loaded' | 'reloaded'): void {
    let users: StoredUser[];
    // Taken before reading: if the file changes in between, the next poll sees a difference and reads again.
    const signature = currentSignature(this.path);
    try {
      users = readUsersFile(this.path);
    } catch (error) {
      // The message is FILE:LINE:COL: PATH: MESSAGE lines (or the chmod advice); none repeats a secret.
      // Remembered, so the same broken file is reported once, not at every poll.
      this.loadedSignature = signature;
      this.logger.error(
        { users_file: this.path, error: (error as Error).message },
        `users file not ${verb}; keeping the previous ${count(this.current.length)}`,
      );
      return;
    }
    // Frozen: the records are shared with every login and merge until the next reload replaces them.
    for (const user of users) deepFreeze(user);
    this.current = Object.freeze(users);
    this.byName = new Map(users.map((user) => [user.name, user]));
    this.loadedSignature = signature;
    this.logger.info({ users_file: this.path, users: users.length }, `users file ${verb} (${count(users.length)})`);
    try {
      onChange();
    } catch (error) {
      this.logger.error({ users_file: this.path, error: (error as Error).message }, 'applying the reloaded users file failed');
    }
  }
}

/** Identifies one version of the file: a rename changes the inode, an edit the size or times, chmod the mode and ctime. */
function fileSignature(stats: Stats): string {
  return [stats.dev, stats.ino, stats.size, stats.mode, stats.mtimeMs, stats.ctimeMs].join(':');
}

function currentSignature(path: string): string {
  try {
    return fileSignature(statSync(path));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `error:${(error as NodeJS.ErrnoException).code ?? ''}`;
  }
}

function count(n: number): string {
  return `${n} user${n === 1 ? '' : 's'}`;
}
