// Reads Gatehouse's audit trail (JSON lines) after the run and holds it to what the soak did:
// every successful session.start has exactly one session.end, no session was refused, and there
// are as many "query" and "bind" records as the soak sent Query and Bind messages. The file is
// read as a stream, one line at a time: a long run writes millions of lines.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface AuditFigures {
  readonly lines: number;
  readonly sessionsStarted: number;
  readonly sessionsEnded: number;
  /** session.start without a session.end. */
  readonly unmatchedStarts: number;
  /** session.end without a session.start, or a second session.end for one session. */
  readonly unmatchedEnds: number;
  /** session.start with success false. */
  readonly refused: number;
  readonly queryRecords: number;
  readonly bindRecords: number;
  /** Lines that are not JSON (a torn write). */
  readonly malformedLines: number;
  /** A few session ids without their end, for the report. */
  readonly unmatchedSample: readonly string[];
  readonly refusalSample: readonly string[];
}

interface AuditLine {
  event?: string;
  session_id?: string;
  success?: boolean;
  message?: string;
  reason?: string;
}

export async function readAuditTrail(file: string): Promise<AuditFigures> {
  const open = new Set<string>();
  let lines = 0;
  let started = 0;
  let endCount = 0;
  let unmatchedEnds = 0;
  let refused = 0;
  let queryRecords = 0;
  let bindRecords = 0;
  let malformedLines = 0;
  const refusalSample: string[] = [];
  const input = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const text of input) {
    if (text === '') continue;
    lines++;
    let line: AuditLine;
    try {
      line = JSON.parse(text) as AuditLine;
    } catch {
      malformedLines++;
      continue;
    }
    const id = line.session_id ?? '';
    switch (line.event) {
      case 'session.query':
        if (line.message === 'query') queryRecords++;
        else if (line.message === 'bind') bindRecords++;
        break;
      case 'session.start':
        if (line.success === false) {
          refused++;
          if (refusalSample.length < 5) refusalSample.push(line.reason ?? '(no reason)');
        } else {
          started++;
          open.add(id);
        }
        break;
      case 'session.end':
        endCount++;
        if (!open.delete(id)) unmatchedEnds++;
        break;
    }
  }
  return {
    lines,
    sessionsStarted: started,
    sessionsEnded: endCount,
    unmatchedStarts: open.size,
    unmatchedEnds,
    refused,
    queryRecords,
    bindRecords,
    malformedLines,
    unmatchedSample: [...open].slice(0, 5),
    refusalSample,
  };
}
