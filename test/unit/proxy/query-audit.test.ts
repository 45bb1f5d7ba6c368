// QueryAuditor turns the frames FrontendFramer hands out into session.query records. The frames
// here come from real client bytes (pg-protocol's serializer, as node-postgres sends them) run
// through the real framer, so the tests see what a session sees.
import { describe, expect, it } from 'vitest';
import { serialize } from 'pg-protocol';
import type { QueryRecord } from '../../../src/audit/events.js';
import { FrontendFramer, type AuditedFrame, type FrontendFramerOptions } from '../../../src/protocol/frontend-framer.js';
import { QueryAuditor } from '../../../src/proxy/query-audit.js';

/** The audited frames in `messages`, as the session's framer reports them. */
function framesOf(messages: Buffer[], options?: FrontendFramerOptions): AuditedFrame[] {
  const framer = new FrontendFramer(options);
  const frames: AuditedFrame[] = [];
  framer.push(Buffer.concat(messages), (frame) => frames.push(frame));
  return frames;
}

/** Every record the auditor writes for `messages`, in order. */
function recordsOf(auditor: QueryAuditor, messages: Buffer[], options?: FrontendFramerOptions): QueryRecord[] {
  const records: QueryRecord[] = [];
  for (const frame of framesOf(messages, options)) {
    const record = auditor.recordFor(frame);
    if (record !== undefined) records.push(record);
  }
  return records;
}

/** The records other than named-Parse records, for tests about what Bind records carry. */
function bindRecordsOf(auditor: QueryAuditor, messages: Buffer[], options?: FrontendFramerOptions): QueryRecord[] {
  return recordsOf(auditor, messages, options).filter((record) => record.message !== 'parse');
}

function typed(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = type.charCodeAt(0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** FunctionCall with text arguments: pg-protocol has no serializer for it. */
function functionCall(oid: number, args: (string | null)[]): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(oid, 0);
  head.writeInt16BE(0, 4); // no format codes: all text
  head.writeInt16BE(args.length, 6);
  const parts = [head];
  for (const arg of args) {
    const length = Buffer.alloc(4);
    length.writeInt32BE(arg === null ? -1 : Buffer.byteLength(arg));
    parts.push(length);
    if (arg !== null) parts.push(Buffer.from(arg));
  }
  parts.push(Buffer.from([0, 0])); // result format: text
  return typed('F', Buffer.concat(parts));
}

describe('QueryAuditor: simple protocol', () => {
  it('records a simple Query with its text', () => {
    const records = recordsOf(new QueryAuditor(true), [serialize.query('SELECT 1')]);
    expect(records).toEqual([{ message: 'query', query: 'SELECT 1' }]);
    expect(records[0]!.truncated).toBeUndefined();
  });

  it('records several queries in order, multi-line and non-ASCII text intact', () => {
    const sql = "SELECT 'zürich €'\n  FROM t -- ✓";
    const records = recordsOf(new QueryAuditor(true), [serialize.query('BEGIN'), serialize.query(sql), serialize.query('COMMIT')]);
    expect(records.map((record) => record.query)).toEqual(['BEGIN', sql, 'COMMIT']);
  });

  it('records an empty query string', () => {
    expect(recordsOf(new QueryAuditor(true), [serialize.query('')])).toEqual([{ message: 'query', query: '' }]);
  });

  it('writes nothing for Execute, Close, Terminate, and for messages that are not audited at all', () => {
    const auditor = new QueryAuditor(true);
    const records = recordsOf(auditor, [
      serialize.execute({ portal: 'p', rows: 5 }),
      serialize.close({ type: 'P', name: 'p' }),
      serialize.describe({ type: 'S', name: 's' }),
      serialize.sync(),
      serialize.flush(),
      serialize.end(),
    ]);
    expect(records).toEqual([]);
  });
});

describe('QueryAuditor: extended protocol', () => {
  it('records a named Parse, then one bind record with the remembered SQL and the parameters', () => {
    const auditor = new QueryAuditor(true);
    const [parse, bind] = framesOf([
      serialize.parse({ name: 's1', text: 'SELECT $1::int, $2::text, $3::bytea', types: [23, 25, 17] }),
      serialize.bind({ portal: 'p1', statement: 's1', values: ['42', null, Buffer.from([0xde, 0xad, 0xbe, 0xef])] }),
    ]);
    expect(auditor.recordFor(parse!)).toEqual({ message: 'parse', statement: 's1', query: 'SELECT $1::int, $2::text, $3::bytea' });
    expect(auditor.recordFor(bind!)).toEqual({
      message: 'bind',
      statement: 's1',
      query: 'SELECT $1::int, $2::text, $3::bytea',
      portal: 'p1',
      parameters: ['42', null, '\\xdeadbeef'],
    });
  });

  it('gives the whole Parse/Bind/Execute/Sync round trip of node-postgres exactly one record', () => {
    const records = recordsOf(new QueryAuditor(true), [
      serialize.parse({ text: 'SELECT * FROM users WHERE id = $1' }),
      serialize.bind({ values: ['7'] }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    ]);
    // The unnamed statement and portal are left out rather than logged as "".
    expect(records).toEqual([{ message: 'bind', query: 'SELECT * FROM users WHERE id = $1', parameters: ['7'] }]);
    expect(records[0]).not.toHaveProperty('statement', '');
    expect(records[0]).not.toHaveProperty('portal', '');
  });

  it('binds a statement many times, each bind with its own parameters', () => {
    const records = bindRecordsOf(new QueryAuditor(true), [
      serialize.parse({ name: 'ins', text: 'INSERT INTO t VALUES ($1)' }),
      serialize.bind({ statement: 'ins', values: ['a'] }),
      serialize.execute({}),
      serialize.bind({ statement: 'ins', values: ['b'] }),
      serialize.execute({}),
      serialize.sync(),
    ]);
    expect(records).toEqual([
      { message: 'bind', statement: 'ins', query: 'INSERT INTO t VALUES ($1)', parameters: ['a'] },
      { message: 'bind', statement: 'ins', query: 'INSERT INTO t VALUES ($1)', parameters: ['b'] },
    ]);
  });

  it('keeps statements apart by name, and a new Parse of the unnamed statement replaces its SQL', () => {
    const records = bindRecordsOf(new QueryAuditor(true), [
      serialize.parse({ name: 'a', text: 'SELECT 1' }),
      serialize.parse({ name: 'b', text: 'SELECT 2' }),
      serialize.parse({ text: 'SELECT 3' }),
      serialize.bind({ statement: 'b' }),
      serialize.bind({ statement: 'a' }),
      serialize.bind({}),
      serialize.parse({ text: 'SELECT 4' }),
      serialize.bind({}),
    ]);
    expect(records.map((record) => [record.statement, record.query])).toEqual([
      ['b', 'SELECT 2'],
      ['a', 'SELECT 1'],
      [undefined, 'SELECT 3'],
      [undefined, 'SELECT 4'],
    ]);
  });

  it('records a bind to a statement it never saw prepared without a query', () => {
    const records = recordsOf(new QueryAuditor(true), [serialize.bind({ statement: 'prepared_elsewhere', values: ['1'] })]);
    expect(records).toEqual([{ message: 'bind', statement: 'prepared_elsewhere', parameters: ['1'] }]);
    expect(records[0]!.query).toBeUndefined();
  });

  it('leaves the parameters out when log_query_parameters is false', () => {
    const auditor = new QueryAuditor(false);
    const records = bindRecordsOf(auditor, [
      serialize.parse({ name: 'login', text: 'SELECT check_password($1, $2)' }),
      serialize.bind({ statement: 'login', values: ['alice', 'hunter2'] }),
    ]);
    expect(records).toEqual([{ message: 'bind', statement: 'login', query: 'SELECT check_password($1, $2)' }]);
    expect(records[0]!.parameters).toBeUndefined();
    expect(JSON.stringify(records)).not.toContain('hunter2');
  });

  it('forgets a statement on Close of that statement', () => {
    const records = bindRecordsOf(new QueryAuditor(true), [
      serialize.parse({ name: 's1', text: 'SELECT 1' }),
      serialize.bind({ statement: 's1' }),
      serialize.close({ type: 'S', name: 's1' }),
      serialize.bind({ statement: 's1' }),
    ]);
    expect(records).toEqual([
      { message: 'bind', statement: 's1', query: 'SELECT 1', parameters: [] },
      { message: 'bind', statement: 's1', parameters: [] },
    ]);
  });

  it('keeps a statement when a portal of the same name is closed', () => {
    const records = bindRecordsOf(new QueryAuditor(true), [
      serialize.parse({ name: 'x', text: 'SELECT 1' }),
      serialize.close({ type: 'P', name: 'x' }),
      serialize.bind({ statement: 'x' }),
    ]);
    expect(records).toEqual([{ message: 'bind', statement: 'x', query: 'SELECT 1', parameters: [] }]);
  });

  it('records every named Parse, so a re-prepare the server refused cannot hide what ran', () => {
    // PostgreSQL refuses the second Parse of "s1" (42P05) and runs the DELETE; the trail shows both.
    const records = recordsOf(new QueryAuditor(true), [
      serialize.parse({ name: 's1', text: 'DELETE FROM accounts' }),
      serialize.sync(),
      serialize.parse({ name: 's1', text: 'SELECT 1' }),
      serialize.sync(),
      serialize.bind({ statement: 's1' }),
    ]);
    expect(records.filter((record) => record.message === 'parse').map((record) => record.query)).toEqual(['DELETE FROM accounts', 'SELECT 1']);
  });

  it('records a FunctionCall by its function OID, with its arguments unless parameters are off', () => {
    const call = functionCall(1598, ['x', null, 'ünï']);
    expect(recordsOf(new QueryAuditor(true), [call])).toEqual([{ message: 'function-call', query: 'function oid 1598', parameters: ['x', null, 'ünï'] }]);
    expect(recordsOf(new QueryAuditor(false), [call])).toEqual([{ message: 'function-call', query: 'function oid 1598' }]);
  });
});

describe('QueryAuditor: the bound on remembered statements', () => {
  const parse = (index: number) => serialize.parse({ name: `s${index}`, text: `SELECT ${index}` });
  const bindQuery = (auditor: QueryAuditor, index: number) => recordsOf(auditor, [serialize.bind({ statement: `s${index}` })])[0]!.query;

  it('remembers 1000 statements', () => {
    const auditor = new QueryAuditor(true);
    recordsOf(auditor, Array.from({ length: 1000 }, (_, i) => parse(i)));
    for (const index of [0, 1, 500, 999]) expect(bindQuery(auditor, index)).toBe(`SELECT ${index}`);
  });

  it('forgets the oldest statement when the 1001st is prepared', () => {
    const auditor = new QueryAuditor(true);
    recordsOf(auditor, Array.from({ length: 1001 }, (_, i) => parse(i)));
    expect(bindQuery(auditor, 0)).toBeUndefined();
    for (const index of [1, 2, 1000]) expect(bindQuery(auditor, index)).toBe(`SELECT ${index}`);
  });

  it('counts a re-prepared statement as the newest', () => {
    const auditor = new QueryAuditor(true);
    recordsOf(auditor, Array.from({ length: 1000 }, (_, i) => parse(i)));
    recordsOf(auditor, [parse(0), parse(1000)]);
    expect(bindQuery(auditor, 0)).toBe('SELECT 0');
    expect(bindQuery(auditor, 1)).toBeUndefined();
    expect(bindQuery(auditor, 1000)).toBe('SELECT 1000');
  });

  it('frees a place when a statement is closed', () => {
    const auditor = new QueryAuditor(true);
    recordsOf(auditor, Array.from({ length: 1000 }, (_, i) => parse(i)));
    recordsOf(auditor, [serialize.close({ type: 'S', name: 's500' }), parse(1000)]);
    expect(bindQuery(auditor, 0)).toBe('SELECT 0');
    expect(bindQuery(auditor, 500)).toBeUndefined();
    expect(bindQuery(auditor, 1000)).toBe('SELECT 1000');
  });
});

describe('QueryAuditor: malformed and truncated messages', () => {
  it('records a malformed message as "malformed" and keeps working', () => {
    const auditor = new QueryAuditor(true);
    const unterminated = typed('Q', Buffer.from('SELECT 1')); // no NUL at the end of the query string
    const records = recordsOf(auditor, [unterminated, serialize.query('SELECT 2')]);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ message: 'malformed' });
    expect(records[0]!.query).toBeUndefined();
    expect(records[0]!.truncated).not.toBe(true);
    expect(records[1]).toEqual({ message: 'query', query: 'SELECT 2' });
  });

  it('reads a Query with bytes after its NUL, an empty body or invalid UTF-8 exactly as the general decoder does', () => {
    const records = recordsOf(new QueryAuditor(true), [
      typed('Q', Buffer.from('SELECT 1\0x\0')),
      typed('Q', Buffer.from('SELECT 1\0\0')),
      typed('Q', Buffer.alloc(0)),
      typed('Q', Buffer.from([0x53, 0xff, 0xc3, 0x00])),
      typed('Q', Buffer.from('\0')),
    ]);
    expect(records).toEqual([
      { message: 'malformed' },
      { message: 'malformed' },
      { message: 'malformed' },
      { message: 'query', query: 'S\ufffd\ufffd' },
      { message: 'query', query: '' },
    ]);
  });

  it('records a Close with an unknown target as malformed', () => {
    const badClose = typed('C', Buffer.from('Xs1\0'));
    const [record] = recordsOf(new QueryAuditor(true), [badClose]);
    expect(record).toMatchObject({ message: 'malformed' });
  });

  it('does not remember the statement of a malformed Parse', () => {
    const auditor = new QueryAuditor(true);
    // A Parse whose body ends before its parameter type count.
    const badParse = typed('P', Buffer.from('s1\0SELECT 1\0'));
    const records = recordsOf(auditor, [badParse, serialize.bind({ statement: 's1' })]);
    expect(records[0]).toMatchObject({ message: 'malformed' });
    expect(records[1]).toEqual({ message: 'bind', statement: 's1', parameters: [] });
  });

  it('carries the truncated flag of a Query whose head was all the framer kept', () => {
    const sql = `SELECT '${'x'.repeat(100)}'`;
    const [record] = recordsOf(new QueryAuditor(true), [serialize.query(sql)], { maxAuditBytes: 16 });
    expect(record).toEqual({ message: 'query', query: `${sql.slice(0, 16)}…`, truncated: true });
  });

  it('carries the truncated flag of a Bind and marks where its parameters were cut', () => {
    const auditor = new QueryAuditor(true);
    const records = bindRecordsOf(
      auditor,
      [serialize.parse({ name: 's', text: 'SELECT $1, $2' }), serialize.bind({ statement: 's', values: ['short', 'y'.repeat(200)] })],
      { maxAuditBytes: 40 },
    );
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record).toMatchObject({ message: 'bind', statement: 's', query: 'SELECT $1, $2', truncated: true });
    expect(record!.parameters![0]).toBe('short');
    expect(record!.parameters!.at(-1)!.endsWith('…')).toBe(true);
  });

  it('does not mark a message that fits as truncated', () => {
    const records = recordsOf(new QueryAuditor(true), [serialize.query('SELECT 1')], { maxAuditBytes: 9 });
    expect(records).toEqual([{ message: 'query', query: 'SELECT 1' }]);
    expect(records[0]!.truncated).toBeUndefined();
  });
});
