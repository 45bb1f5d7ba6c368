// The audit trail as JSON lines, written by its own pino instance to stdout, stderr or a file.
// A session's context is bound once into a child logger, so each query event serializes only the
// query itself: that keeps auditing cheap on the relay's hot path.
import pino, { type Logger } from 'pino';
import type { AuditConfig } from '../config/types.js';
import type { AuditLog, CertIssuedRecord, LoginRecord, QueryRecord, SessionAudit, SessionContext, SessionDeniedRecord, SessionEndRecord } from './events.js';

export class PinoAuditLog implements AuditLog {
  private readonly logger: Logger;
  private readonly destination: pino.DestinationStream;

  constructor(config: AuditConfig, destination?: pino.DestinationStream) {
    this.destination = destination ?? openDestination(config.output);
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

function openDestination(output: string): pino.DestinationStream {
  // Asynchronous writes: while one write is in flight the next lines coalesce behind it, so a busy
  // proxy writes in batches and an idle one writes each line at once; close() flushes the rest.
  const common = { sync: false };
  if (output === 'stdout') return pino.destination({ ...common, dest: 1 });
  if (output === 'stderr') return pino.destination({ ...common, dest: 2 });
  return pino.destination({ ...common, dest: output, mkdir: true });
}
