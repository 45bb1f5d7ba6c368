// The audit trail as JSON lines, written to stdout, stderr or a file through pino's buffered
// destination. The per-session lines (start, every query, end) are built by hand (audit-line.ts),
// with the session's context serialized once: a query line is written on the relay's hot path.
// The rarer events (refusals, logins, certificates, admin actions) go through pino itself.
import pino, { type Logger } from 'pino';
import type { AuditConfig } from '../config/types.js';
import { AuditClock, auditLine, contextMembers } from './audit-line.js';
import { LineBatch } from './line-batch.js';
import type { AdminActionRecord, AuditLog, CertIssuedRecord, LoginRecord, QueryRecord, SessionAudit, SessionContext, SessionDeniedRecord, SessionEndRecord } from './events.js';

/**
 * Audit lines are gathered up to this many characters before a write, and written at least every
 * AUDIT_FLUSH_INTERVAL_MS: one write per line cost a tenth of the proxy's CPU under load (a
 * thread-pool hand-off per query), and a tenth of a second is no delay for an audit trail.
 * 64 KiB rather than 8: each write is a hand-off to a thread-pool thread and a context switch.
 */
const AUDIT_BUFFER_BYTES = 64 * 1024;
const AUDIT_FLUSH_INTERVAL_MS = 100;

type FileDestination = pino.DestinationStream & NodeJS.EventEmitter & { flush(): void; flushSync(): void; end(): void };

export class PinoAuditLog implements AuditLog {
  private readonly logger: Logger;
  /** Where lines are written: the batch in front of the file destination, or the destination given. */
  private readonly destination: pino.DestinationStream;
  /** What close() ends and waits for: the file destination, or the destination given. */
  private readonly stream: pino.DestinationStream;
  private readonly stopFlushing: () => void = () => undefined;
  /** Ends the stream; for the file destination, after handing it the last batch. */
  private readonly endStream: (() => void) | undefined;
  private readonly clock = new AuditClock();

  /**
   * `destination`: where whole lines go instead of audit.output. A worker of a multi-process
   * Gatehouse (proxy.workers > 1) passes one that sends them to the primary, the only process that
   * writes audit.output, so lines from several workers never interleave (src/cluster/line-destination.ts).
   */
  constructor(config: AuditConfig, destination?: pino.DestinationStream) {
    if (destination === undefined) {
      const file = openDestination(config.output);
      const buffered = new LineBatch(file, AUDIT_BUFFER_BYTES);
      const flush = () => {
        try {
          buffered.flush();
        } catch {
          // Destroyed while closing: close() writes what is left.
        }
      };
      const timer = setInterval(flush, AUDIT_FLUSH_INTERVAL_MS).unref();
      // A process that exits without close() (an uncaught error) still writes its last lines.
      const flushOnExit = () => {
        try {
          buffered.flushSync();
        } catch {
          // Nothing more can be done at exit.
        }
      };
      process.once('exit', flushOnExit);
      this.stopFlushing = () => {
        clearInterval(timer);
        process.off('exit', flushOnExit);
      };
      this.destination = buffered;
      this.stream = file;
      this.endStream = () => buffered.end();
    } else {
      this.destination = destination;
      this.stream = destination;
    }
    this.logger = pino(
      {
        level: 'info',
        // Audit lines carry no level (they are all records, not diagnostics) and no pid/hostname:
        // the level formatter writes the stream marker in the level's place.
        base: null,
        timestamp: pino.stdTimeFunctions.isoTime,
        messageKey: 'event',
        formatters: { level: () => ({ stream: 'audit' }) },
      },
      this.destination,
    );
  }

  session(context: SessionContext): SessionAudit {
    return new SessionLines(this.destination, this.clock, contextMembers(context));
  }

  denied(record: SessionDeniedRecord): void {
    this.logger.info({ ...record, success: false }, 'session.start');
  }

  login(record: LoginRecord): void {
    this.logger.info(record, 'auth.login');
  }

  certIssued(record: CertIssuedRecord): void {
    this.logger.info(record, 'cert.issued');
  }

  admin(record: AdminActionRecord): void {
    this.logger.info(record, 'admin.action');
  }

  /** Ends the stream and resolves once every buffered line, and any write in flight, is out. */
  close(): Promise<void> {
    this.stopFlushing();
    return new Promise((resolve) => {
      const stream = this.stream as pino.DestinationStream & NodeJS.EventEmitter & { end?: () => void };
      if (typeof stream.end !== 'function') return resolve();
      stream.once('finish', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', () => resolve());
      if (this.endStream !== undefined) this.endStream();
      else stream.end();
    });
  }
}

/** One session's lines, written straight to the audit destination, in order with pino's own. */
class SessionLines implements SessionAudit {
  constructor(
    private readonly destination: pino.DestinationStream,
    private readonly clock: AuditClock,
    /** The session's context, serialized once. */
    private readonly context: string,
  ) {}

  started(upstreamUser: string): void {
    this.write({ success: true, upstream_user: upstreamUser }, 'session.start');
  }

  query(record: QueryRecord): void {
    this.write(record, 'session.query');
  }

  ended(record: SessionEndRecord): void {
    this.write(record, 'session.end');
  }

  private write(record: object, event: string): void {
    this.destination.write(auditLine(this.clock.iso(), this.context, record, event));
  }
}

function openDestination(output: string): FileDestination {
  // Asynchronous writes of what the LineBatch hands over (it does the batching); close() writes what is left.
  const common = { sync: false, minLength: 0 };
  if (output === 'stdout') return pino.destination({ ...common, dest: 1 }) as FileDestination;
  if (output === 'stderr') return pino.destination({ ...common, dest: 2 }) as FileDestination;
  return pino.destination({ ...common, dest: output, mkdir: true }) as FileDestination;
}
