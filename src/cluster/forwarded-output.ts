// The primary's end of the workers' output (line-destination.ts): whole lines from every worker,
// written by this one process to stderr (the diagnostic log) and to audit.output (stdout, stderr or
// a file). One writer per destination is what keeps lines from several workers from interleaving.
import pino from 'pino';
import type { OutputPayload } from './protocol.js';

type Destination = pino.DestinationStream & NodeJS.EventEmitter & { end(): void; flushSync(): void };

export class ForwardedOutput {
  private readonly flushOnExit = () => {
    try {
      this.audit.flushSync();
    } catch {
      // Nothing more can be done at exit.
    }
  };

  private constructor(
    private readonly log: Destination,
    private readonly audit: Destination,
  ) {
    process.once('exit', this.flushOnExit);
  }

  /** `auditOutput` as in the config: 'stdout', 'stderr' or an absolute file path. */
  static open(auditOutput: string): ForwardedOutput {
    // Synchronous like the single-process log (createLogger's default), so a line is out before the next.
    const log = pino.destination({ dest: 2, sync: true }) as Destination;
    if (auditOutput === 'stderr') return new ForwardedOutput(log, log);
    // Asynchronous for the audit trail: it carries every query; batches arrive already gathered.
    const audit = pino.destination({ dest: auditOutput === 'stdout' ? 1 : auditOutput, sync: false, mkdir: true }) as Destination;
    return new ForwardedOutput(log, audit);
  }

  write(output: OutputPayload): void {
    (output.stream === 'audit' ? this.audit : this.log).write(output.text);
  }

  /** Resolves once every audit line received is written. */
  close(): Promise<void> {
    process.off('exit', this.flushOnExit);
    if (this.audit === this.log) return Promise.resolve();
    return new Promise((resolve) => {
      this.audit.once('finish', () => resolve());
      this.audit.once('close', () => resolve());
      this.audit.once('error', () => resolve());
      this.audit.end();
    });
  }
}
