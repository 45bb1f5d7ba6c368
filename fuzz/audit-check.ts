// Reads the audit trail the fuzzed daemon wrote and checks it tells the truth about the run: every
// session that started has ended once every client is gone, no query is recorded for a session
// after its end (bytes a client sends after Gatehouse ended its session never reach the database,
// so they must not appear as queries either), and every line is a whole JSON record.
import { readFileSync } from 'node:fs';

export interface AuditFigures {
  /** session.start with success: the upstream login worked and the relay began. */
  readonly sessionsStarted: number;
  /** session.start with success false: refusals, with their reasons. */
  readonly sessionsRefused: number;
  readonly sessionsEnded: number;
  /** Started sessions without a session.end: must be 0 once every client has gone. */
  readonly sessionsNotEnded: number;
  readonly queries: number;
  /** session.query lines written after their session's session.end: must be 0. */
  readonly queriesAfterEnd: number;
  /** Lines that are not a JSON object: must be 0. */
  readonly unreadableLines: number;
}

interface AuditLine {
  event?: string;
  session_id?: string;
  success?: boolean;
}

export function checkAudit(file: string): AuditFigures {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // no audit file: nothing was audited
  }
  const started = new Set<string>();
  const ended = new Set<string>();
  let sessionsRefused = 0;
  let queries = 0;
  let queriesAfterEnd = 0;
  let unreadableLines = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let record: AuditLine;
    try {
      record = JSON.parse(line) as AuditLine;
    } catch {
      unreadableLines++;
      continue;
    }
    const id = record.session_id ?? '';
    switch (record.event) {
      case 'session.start':
        if (record.success === true) started.add(id);
        else sessionsRefused++;
        break;
      case 'session.query':
        queries++;
        if (ended.has(id)) queriesAfterEnd++;
        break;
      case 'session.end':
        ended.add(id);
        break;
    }
  }
  return {
    sessionsStarted: started.size,
    sessionsRefused,
    sessionsEnded: ended.size,
    sessionsNotEnded: [...started].filter((id) => !ended.has(id)).length,
    queries,
    queriesAfterEnd,
    unreadableLines,
  };
}
