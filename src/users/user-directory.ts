// The daemon's live view of the users file. `gatehouse users` rewrites the file (atomically) while
// the daemon runs; polling its stat (files/polled-file.ts) notices that, also across renames, and
// the new users apply without a restart.
// A file that no longer reads (a bad edit, loose permissions) is logged with its FILE:LINE:COL and
// the users read before stay in force, so a typo never locks everyone out. Nothing from a user's
// record is ever logged: the file holds password hashes and TOTP seeds.
import { deepFreeze } from '../config/freeze.js';
import { PolledFile } from '../files/polled-file.js';
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
  private readonly file: PolledFile;
  private current: readonly StoredUser[] = [];
  private byName = new Map<string, StoredUser>();
  /** Set while started. */
  private onChange: (() => void) | undefined;

  constructor(options: UserDirectoryOptions) {
    this.path = options.path;
    this.logger = options.logger;
    this.file = new PolledFile(options.path, options.pollIntervalMs ?? DEFAULT_USERS_POLL_INTERVAL_MS);
  }

  /**
   * Reads the file now, then watches it. `onChange` runs after every successful read, the first one
   * included, so the caller can (re)build its merged config in one place. A file that cannot be read
   * at start is logged and leaves the directory empty (gatehouse.yaml users still work); it does
   * not stop the daemon.
   */
  start(onChange: () => void): void {
    if (this.onChange !== undefined) return;
    this.onChange = onChange;
    this.reload(onChange, 'loaded');
    this.file.start(() => this.reload(onChange, 'reloaded'));
  }

  stop(): void {
    this.file.stop();
    this.onChange = undefined;
  }

  /**
   * Reads the file now if it changed since the last read. A login calls this first, so a password
   * set a moment ago works at once instead of after the next poll (one stat per login).
   */
  refresh(): void {
    if (this.onChange !== undefined && this.file.changed()) this.reload(this.onChange, 'reloaded');
  }

  users(): readonly StoredUser[] {
    return this.current;
  }

  find(name: string): StoredUser | undefined {
    return this.byName.get(name);
  }

  private reload(onChange: () => void, verb: 'loaded' | 'reloaded'): void {
    let users: StoredUser[];
    // Taken before reading: if the file changes in between, the next poll sees a difference and reads again.
    const signature = this.file.signature();
    try {
      users = readUsersFile(this.path);
    } catch (error) {
      // The message is FILE:LINE:COL: PATH: MESSAGE lines (or the chmod advice); none repeats a secret.
      // Remembered, so the same broken file is reported once, not at every poll.
      this.file.markRead(signature);
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
    this.file.markRead(signature);
    this.logger.info({ users_file: this.path, users: users.length }, `users file ${verb} (${count(users.length)})`);
    try {
      onChange();
    } catch (error) {
      this.logger.error({ users_file: this.path, error: (error as Error).message }, 'applying the reloaded users file failed');
    }
  }
}

function count(n: number): string {
  return `${n} user${n === 1 ? '' : 's'}`;
}
