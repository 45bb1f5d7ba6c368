// The audit trail as JSON lines, written by its own pino instance to stdout, stderr or a file.
// A session's context is bound once into a child logger, so each query event serializes only the
// query itself: that keeps auditing cheap on the relay's hot path.
import pino, { type Logger } from 'pino';
import type { AuditConfig } from '../config/types.js';
import type { AuditLog, CertIssuedRecord, LoginRecord, QueryRecord, SessionAudit, SessionContext, SessionDeniedRecord, SessionEndRecord } from './events.js';

/**
 * Audit lines are gathered up to this many bytes before a write, and written at least every
 * AUDIT_FLUSH_INTERVAL_MS: one write per line cost a tenth of the proxy's CPU under load (a
 * thread-pool hand-off per query), and a tenth of a second is no delay for an audit trail.
 */
const AUDIT_BUFFER_BYTES = 8 * 1024;
const AUDIT_FLUSH_INTERVAL_MS = 100;

type BufferedDestination = pino.DestinationStream & { flush(): void; flushSync(): void };

export class PinoAuditLog implements AuditLog {
  private readonly logger: Logger;
  private readonly destination: pino.DestinationStream;
  private readonly stopFlushing: () => void = () => undefined;

  constructor(config: AuditConfig, destination?: pino.DestinationStream) {
    if (destination === undefined) {
      const buffered = openDestination(config.output);
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
    } else {
      this.destination = destination;
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
    return new PinoSessionAudit(this.logger.child(context));
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

  /** Ends the stream and resolves once every buffered line, and any write in flight, is out. */
  close(): Promise<void> {
    this.stopFlushing();
    return new Promise((resolve) => {
      const stream = this.destination as pino.DestinationStream & NodeJS.EventEmitter & { end?: () => void };
      if (typeof stream.end !== 'function') return resolve();
      stream.once('finish', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', () => resolve());
      stream.end();
    });
  }
}

class PinoSessionAudit implements SessionAudit {
  constructor(private readonly logger: Logger) {}

  started(upstreamUser: string): void {
    this.logger.info({ success: true, upstream_user: upstreamUser }, 'session.start');
  }

  query(record: QueryRecord): void {
    this.logger.info(record, 'session.query');
  }

  ended(record: SessionEndRecord): void {
    this.logger.info(record, 'session.end');
  }
}

function openDestination(output: string): BufferedDestination {
  // Asynchronous, buffered writes; close() writes what is left.
  const common = { sync: false, minLength: AUDIT_BUFFER_BYTES };
  if (output === 'stdout') return pino.destination({ ...common, dest: 1 }) as BufferedDestination;
  if (output === 'stderr') return pino.destination({ ...common, dest: 2 }) as BufferedDestination;
  return pino.destination({ ...common, dest: output, mkdir: true }) as BufferedDestination;
}
