// Turns the audited client messages of one session into session.query records: one per simple
// Query; one per Parse of a named (prepared) statement; and one per Bind, carrying the statement's
// text and, unless disabled, the parameters. The Bind's text is the latest Parse of that name the
// auditor saw; the auditor never sees the server's replies, so when a Parse was refused (a name
// already in use, a syntax error) the named-Parse records are what show what really ran. The
// unnamed statement, which every Parse simply replaces, gets no Parse record of its own.
// Execute and Close are not worth a line; Close only makes the auditor forget a statement.
import type { QueryRecord } from '../audit/events.js';
import { FrontendMessageType } from '../protocol/constants.js';
import type { AuditedFrame } from '../protocol/frontend-framer.js';
import { decodeAuditedFrame } from '../protocol/frontend-messages.js';

/** Named statements remembered per session; a client that prepares more gets the oldest forgotten. */
const MAX_REMEMBERED_STATEMENTS = 1000;

export class QueryAuditor {
  private readonly statements = new Map<string, string>();

  constructor(private readonly logParameters: boolean) {}

  /** The record to write for this message, if any. */
  recordFor(frame: AuditedFrame): QueryRecord | undefined {
    // The common case on the hot path, a whole simple Query (its text and one closing NUL), read
    // without the general decoder; anything else (cut, no NUL, bytes after it) goes through it.
    if (frame.type === FrontendMessageType.QUERY && !frame.truncated) {
      const { body } = frame;
      const end = body.length - 1;
      if (end >= 0 && body[end] === 0 && body.indexOf(0) === end) return { message: 'query', query: body.toString('utf8', 0, end) };
    }
    let message;
    try {
      message = decodeAuditedFrame(frame);
    } catch {
      // The database rejects a malformed message itself; the audit line says what arrived.
      return { message: 'malformed', truncated: frame.truncated || undefined };
    }
    const truncated = frame.truncated || undefined;
    switch (message.type) {
      case 'query':
        return { message: 'query', query: message.sql, truncated };
      case 'parse':
        this.remember(message.statement, message.sql);
        return message.statement === '' ? undefined : { message: 'parse', statement: message.statement, query: message.sql, truncated };
      case 'bind':
        return {
          message: 'bind',
          statement: message.statement === '' ? undefined : message.statement,
          query: this.statements.get(message.statement),
          portal: message.portal === '' ? undefined : message.portal,
          parameters: this.logParameters ? message.parameters : undefined,
          truncated,
        };
      case 'close':
        if (message.target === 'statement') this.statements.delete(message.name);
        return undefined;
      case 'function-call':
        return {
          message: 'function-call',
          query: `function oid ${message.functionOid}`,
          parameters: this.logParameters ? message.arguments : undefined,
          truncated,
        };
      default:
        return undefined;
    }
  }

  private remember(statement: string, sql: string): void {
    this.statements.delete(statement);
    this.statements.set(statement, sql);
    if (this.statements.size > MAX_REMEMBERED_STATEMENTS) {
      const oldest = this.statements.keys().next().value;
      if (oldest !== undefined) this.statements.delete(oldest);
    }
  }
}
