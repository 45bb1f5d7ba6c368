// Where a worker's pino loggers (the diagnostic log and the audit trail) write when proxy.workers > 1:
// to the primary, over IPC, which is then the only process writing to stdout, stderr or the audit
// file. Several processes writing one pipe themselves could interleave inside a line, because a
// pipe write over PIPE_BUF (4096 bytes) is not atomic and a long query's audit line easily exceeds
// it. pino hands over one whole line per write(), so batching writes keeps lines whole.
import { EventEmitter } from 'node:events';
import type { OutputStream } from './protocol.js';

export interface LineDestinationOptions {
  /** Sends a batch of whole lines to the primary; `sent` runs once it is out (or was dropped). */
  readonly send: (stream: OutputStream, text: string, sent: () => void) => void;
  /** False once the primary is gone; lines then go to `fallback` instead. */
  readonly connected: () => boolean;
  /** Writes lines this process must write itself (the primary is gone). */
  readonly fallback: (text: string) => void;
  /** A batch goes out when it reaches this many characters… */
  readonly maxBatchChars?: number;
  /** …or this long after its first line; 0: on the next turn of the event loop. */
  readonly flushAfterMs?: number;
}

const DEFAULT_MAX_BATCH_CHARS = 8 * 1024;

/** A pino DestinationStream (write + end) that batches whole lines towards the primary. */
export class LineDestination extends EventEmitter {
  private pending: string[] = [];
  private pendingChars = 0;
  private scheduled: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private inFlight = 0;
  private ending = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly options: LineDestinationOptions,
  ) {
    super();
  }

  write(line: string): boolean {
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= (this.options.maxBatchChars ?? DEFAULT_MAX_BATCH_CHARS)) this.flush();
    else this.schedule();
    return true;
  }

  /** Sends what is pending now; `done` runs once it is out (pino's logger.flush(cb)). */
  flush(done?: () => void): void {
    this.unschedule();
    if (this.pending.length === 0) return done?.();
    const text = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    if (!this.options.connected()) {
      this.options.fallback(text);
      return done?.();
    }
    this.inFlight += 1;
    this.options.send(this.stream, text, () => {
      this.inFlight -= 1;
      done?.();
      this.finishIfDone();
    });
  }

  /** Sends what is pending and emits 'finish' once every batch is out (PinoAuditLog.close waits for it). */
  end(): void {
    this.ending = true;
    this.flush();
    this.finishIfDone();
  }

  private finishIfDone(): void {
    if (this.ending && this.inFlight === 0) {
      this.ending = false;
      this.emit('finish');
    }
  }

  private schedule(): void {
    if (this.scheduled !== undefined) return;
    const afterMs = this.options.flushAfterMs ?? 0;
    this.scheduled = afterMs > 0 ? setTimeout(() => this.flush(), afterMs).unref() : setImmediate(() => this.flush());
  }

  private unschedule(): void {
    if (this.scheduled === undefined) return;
    clearTimeout(this.scheduled as NodeJS.Timeout);
    clearImmediate(this.scheduled as NodeJS.Immediate);
    this.scheduled = undefined;
  }
}
