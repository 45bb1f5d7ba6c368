// The hand-built session lines must be what pino wrote before, byte for byte: the same keys in the
// same order, the same escaping, undefined fields left out. Each case is written by a pino child
// logger configured as the audit log's was, and by auditLine(), and the two lines compared.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AuditClock, auditLine, contextMembers } from '../../../src/audit/audit-line.js';
import type { SessionContext } from '../../../src/audit/events.js';
import { CaptureStream } from '../../support/capture-stream.js';

const CONTEXT: SessionContext = {
  session_id: 'f3c1a9e2-1234-4567-89ab-0123456789ab',
  user: 'alice "the admin"\\',
  database: 'main',
  db_user: 'app\nreader',
  db_name: 'ünïcode 🐘',
  client_addr: '10.0.0.5:51234',
};

const FIXED_TIME = '2026-11-21T23:17:02.123Z';

/** The line pino writes for this record and event, with the audit log's pino options and a fixed time. */
function pinoLine(context: object, record: object, event: string): string {
  const out = new CaptureStream();
  const logger = pino(
    {
      level: 'info',
      base: null,
      timestamp: () => `,"time":"${FIXED_TIME}"`,
      messageKey: 'event',
      formatters: { level: () => ({ stream: 'audit' }) },
    },
    out,
  );
  logger.child(context).info(record, event);
  return out.text;
}

const RECORDS: Array<[string, object]> = [
  ['session.query', { message: 'query', query: 'SELECT 1', truncated: undefined }],
  ['session.query', { message: 'bind', statement: 's1', query: 'SELECT $1, $2', portal: undefined, parameters: ['42', null, '\\x00ff'], truncated: true }],
  ['session.query', { message: 'query', query: 'SELECT 1;\n{"event":"session.end","forged":true}' }],
  ['session.query', { message: 'query', query: "SELECT 'it''s' AS \"q\", E'back\\\\slash' \r\t\u0000\u001b[31m \u007f" }],
  ['session.query', { message: 'query', query: "SELECT '€ ünï 🐘' -- \u2028 \u2029" }],
  ['session.query', { message: 'query', query: `${'x'.repeat(70_000)}"` }],
  ['session.query', { message: 'function-call', query: 'function oid 1234', parameters: [] }],
  ['session.query', { message: 'malformed' }],
  ['session.start', { success: true, upstream_user: 'svc' }],
  ['session.end', { reason: 'client closed the connection', duration_ms: 1234, bytes_from_client: 10, bytes_to_client: 2000, sqlstate: undefined }],
  ['session.end', { reason: 'x', duration_ms: Number.NaN, bytes_from_client: Number.POSITIVE_INFINITY, bytes_to_client: -0, sqlstate: '57P01' }],
  ['session.query', {}],
];

describe('auditLine', () => {
  for (const [event, record] of RECORDS) {
    it(`writes what pino wrote: ${event} ${JSON.stringify(record).slice(0, 60)}`, () => {
      expect(auditLine(FIXED_TIME, contextMembers(CONTEXT), record, event)).toBe(pinoLine(CONTEXT, record, event));
    });
  }

  it('escapes an unpaired surrogate as JSON.stringify does (pino wrote short strings raw, to become U+FFFD on the way out)', () => {
    // Decoded client bytes never hold one (invalid UTF-8 decodes to U+FFFD); the line stays valid JSON and exact.
    const query = 'lone surrogates \ud800 and \udfff end';
    const line = auditLine(FIXED_TIME, contextMembers(CONTEXT), { message: 'query', query }, 'session.query');
    expect(line).toContain('\\ud800');
    expect((JSON.parse(line) as { query: string }).query).toBe(query);
  });

  it('writes a line without context members when the context is empty', () => {
    const line = auditLine(FIXED_TIME, '', { message: 'query', query: 'SELECT 1' }, 'session.query');
    expect(JSON.parse(line)).toEqual({ stream: 'audit', time: FIXED_TIME, message: 'query', query: 'SELECT 1', event: 'session.query' });
    expect(line.endsWith('}\n')).toBe(true);
  });
});

describe('AuditClock', () => {
  it('writes what Date#toISOString writes, across milliseconds, seconds, days and years, before 1970 too', () => {
    let now = 0;
    const clock = new AuditClock(() => now);
    const instants = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -999, -1000, -1001, Date.UTC(2026, 10, 21, 23, 59, 59, 999), Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1)];
    for (let ms = Date.UTC(2026, 10, 21, 23, 17, 1, 990); ms < Date.UTC(2026, 10, 21, 23, 17, 2, 20); ms++) instants.push(ms);
    for (const instant of instants) {
      now = instant;
      expect(clock.iso()).toBe(new Date(instant).toISOString());
    }
  });

  it('formats each millisecond once, as ISO-8601 UTC', () => {
    let now = Date.UTC(2026, 10, 21, 23, 17, 2, 123);
    const clock = new AuditClock(() => now);
    const first = clock.iso();
    expect(first).toBe('2026-11-21T23:17:02.123Z');
    expect(clock.iso()).toBe(first);
    now += 1;
    expect(clock.iso()).toBe('2026-11-21T23:17:02.124Z');
  });
});
