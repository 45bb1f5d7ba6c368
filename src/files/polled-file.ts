// Notices when a file another process may rewrite has changed: the users file, which `gatehouse
// users` rewrites while the daemon runs, and the locks file, which every Gatehouse sharing a data
// directory reads and any of them may write. Polling its stat (fs.watchFile) works across the
// atomic renames the writers do and on filesystems where inotify-style events are unreliable.
import { statSync, unwatchFile, watchFile, type Stats } from 'node:fs';

export class PolledFile {
  private listener: (() => void) | undefined;
  private recheck: NodeJS.Timeout | undefined;
  /** What the file looked like when it was last read; undefined before the first read. */
  private seen: string | undefined;

  constructor(
    private readonly path: string,
    private readonly intervalMs: number,
  ) {}

  /** Starts polling; `onChange` runs when the file differs from what `markRead` last recorded. */
  start(onChange: () => void): void {
    if (this.listener !== undefined) return;
    // Each event stats the file again rather than trusting the event's stats (a late all-zero
    // event for a file missing at start can arrive after the file was created and read).
    this.listener = () => {
      if (this.changed()) onChange();
    };
    // persistent: false — polling must not keep a stopping process alive.
    watchFile(this.path, { interval: this.intervalMs, persistent: false }, this.listener);
    // watchFile compares with its own first stat, taken a moment after the caller's first read; a
    // write in between would go unnoticed until the next one. One look after the first poll closes that gap.
    this.recheck = setTimeout(() => {
      this.recheck = undefined;
      if (this.listener !== undefined && this.changed()) onChange();
    }, this.intervalMs);
    this.recheck.unref();
  }

  stop(): void {
    if (this.recheck !== undefined) clearTimeout(this.recheck);
    this.recheck = undefined;
    if (this.listener === undefined) return;
    unwatchFile(this.path, this.listener);
    this.listener = undefined;
  }

  /** The file's signature now; take it before reading, so a write during the read is seen at the next poll. */
  signature(): string {
    try {
      return fileSignature(statSync(this.path));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? 'missing' : `error:${code ?? ''}`;
    }
  }

  /** Records the version of the file that was just read (or written by this process). */
  markRead(signature: string): void {
    this.seen = signature;
  }

  changed(): boolean {
    return this.signature() !== this.seen;
  }
}

/** Identifies one version of the file: a rename changes the inode, an edit the size or times, chmod the mode and ctime. */
function fileSignature(stats: Stats): string {
  return [stats.dev, stats.ino, stats.size, stats.mode, stats.mtimeMs, stats.ctimeMs].join(':');
}
