// PinoAuditLog writes the audit trail as JSON lines. The trail is an interface for SIEM pipelines,
// so these tests read what lands in the destination the way a pipeline would: one line, one JSON
// object, with the documented field names.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionContext } from '../../../src/audit/events.js';
import { PinoAuditLog } from '../../../src/audit/pino-audit-log.js';
import type { AuditConfig } from '../../../src/config/types.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { CaptureStream } from '../../support/capture-stream.js';

const CONFIG: AuditConfig = { output: 'stdout', log_query_parameters: true };
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const CONTEXT: SessionContext = {
  session_id: 'f3c1a9e2',
  user: 'alice',
  database: 'app',
  db_user: 'app_reader',
  db_name: 'appdb',
  client_addr: '10.0.0.5:51234',
};



function setup(): { audit: PinoAuditLog; out: CaptureStream } {
  const out = new CaptureStream();
  return { audit: new PinoAuditLog(CONFIG, out), out };
}

/** The line without its timestamp, after checking the timestamp is an ISO-8601 UTC time. */
function withoutTime(line: Record<string, unknown>): Record<string, unknown> {
  const { time, ...rest } = line;
  expect(time).toMatch(ISO_TIME);
  expect(Number.isNaN(Date.parse(time as string))).toBe(false);
  return rest;
}

describe('PinoAuditLog session events', () => {
  it('writes session.start with the session context, the upstream user and success: true', () => {
    const { audit, out } = setup();
    audit.session(CONTEXT).started('gatehouse_svc');
    const [line, ...more] = out.lines();
    expect(more).toEqual([]);
    expect(withoutTime(line!)).toEqual({ stream: 'audit', ...CONTEXT, success: true, upstream_user: 'gatehouse_svc', event: 'session.start' });
  });

  it('writes session.query with the context and the record, and nothing else', () => {
    const { audit, out } = setup();
    audit.session(CONTEXT).query({ message: 'bind', statement: 's1', query: 'SELECT $1, $2', parameters: ['42', null], truncated: true });
    expect(withoutTime(out.lines()[0]!)).toEqual({
      stream: 'audit',
      ...CONTEXT,
      message: 'bind',
      statement: 's1',
      query: 'SELECT $1, $2',
      parameters: ['42', null],
      truncated: true,
      event: 'session.query',
    });
  });

  it('leaves fields a record does not have out of the line', () => {
    const { audit, out } = setup();
    audit.session(CONTEXT).query({ message: 'query', query: 'SELECT 1', truncated: undefined });
    const line = out.lines()[0]!;
    expect(line).not.toHaveProperty('truncated');
    expect(line).not.toHaveProperty('parameters');
    expect(line).not.toHaveProperty('statement');
  });

  it('writes session.end with its counters and SQLSTATE', () => {
    const { audit, out } = setup();
    audit.session(CONTEXT).ended({ reason: 'gatehouse shut down', duration_ms: 1234, bytes_from_client: 10, bytes_to_client: 2000, sqlstate: '57P01' });
    expect(withoutTime(out.lines()[0]!)).toEqual({
      stream: 'audit',
      ...CONTEXT,
      reason: 'gatehouse shut down',
      duration_ms: 1234,
      bytes_from_client: 10,
      bytes_to_client: 2000,
      sqlstate: '57P01',
      event: 'session.end',
    });
  });

  it('writes no level, pid or hostname: every line is a record of the audit stream', () => {
    const { audit, out } = setup();
    const session = audit.session(CONTEXT);
    session.started('u');
    session.query({ message: 'query', query: 'SELECT 1' });
    session.ended({ reason: 'client closed', duration_ms: 1, bytes_from_client: 1, bytes_to_client: 1 });
    audit.denied({ session_id: 'x', client_addr: '1.2.3.4:5', reason: 'r', code: 'GH_ERR_ACCESS_DENIED', sqlstate: '28000' });
    const lines = out.lines();
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line.stream).toBe('audit');
      expect(line).not.toHaveProperty('level');
      expect(line).not.toHaveProperty('pid');
      expect(line).not.toHaveProperty('hostname');
      expect(line).not.toHaveProperty('msg');
    }
    expect(lines.map((line) => line.event)).toEqual(['session.start', 'session.query', 'session.end', 'session.start']);
  });

  it('binds the context when the session starts: later changes to the object do not leak into its lines', () => {
    const { audit, out } = setup();
    const context = { ...CONTEXT };
    const session = audit.session(context);
    context.user = 'mallory';
    context.session_id = 'changed';
    session.query({ message: 'query', query: 'SELECT 1' });
    expect(out.lines()[0]).toMatchObject({ user: 'alice', session_id: 'f3c1a9e2' });
  });

  it('keeps interleaved sessions apart', () => {
    const { audit, out } = setup();
    const a = audit.session(CONTEXT);
    const b = audit.session({ ...CONTEXT, session_id: 'b0b', user: 'bob', db_user: 'app_rw' });
    a.query({ message: 'query', query: 'SELECT a' });
    b.query({ message: 'query', query: 'SELECT b' });
    a.query({ message: 'query', query: 'SELECT a2' });
    expect(out.lines().map((line) => [line.session_id, line.user, line.db_user, line.query])).toEqual([
      ['f3c1a9e2', 'alice', 'app_reader', 'SELECT a'],
      ['b0b', 'bob', 'app_rw', 'SELECT b'],
      ['f3c1a9e2', 'alice', 'app_reader', 'SELECT a2'],
    ]);
  });
});

describe('PinoAuditLog: one event, one line', () => {
  it('escapes newlines, quotes, backslashes, control and non-ASCII characters inside a query', () => {
    const { audit, out } = setup();
    const nasty = [
      'SELECT 1;\n{"event":"session.end","forged":true}',
      'SELECT \'it\'\'s\' AS "quoted", E\'back\\\\slash\'',
      'SELECT \r\t\u0000\u001b[31m red',
      'SELECT \'€ ünï 🐘\' -- \u2028 \u2029',
    ];
    const session = audit.session(CONTEXT);
    for (const query of nasty) session.query({ message: 'query', query, parameters: [query] });
    const lines = out.lines();
    expect(lines).toHaveLength(nasty.length);
    expect(lines.map((line) => line.query)).toEqual(nasty);
    expect(lines.map((line) => line.parameters)).toEqual(nasty.map((query) => [query]));
    expect(lines.every((line) => line.event === 'session.query' && !('forged' in line))).toBe(true);
  });

  it('writes a context value a client chose as data, not as extra fields', () => {
    const { audit, out } = setup();
    audit.denied({
      session_id: 's',
      client_addr: '1.2.3.4:5',
      user: 'eve","success":true,"x":"',
      db_user: 'a\nb',
      reason: 'no role allows it',
      code: 'GH_ERR_ACCESS_DENIED',
      sqlstate: '28000',
    });
    const [line, ...more] = out.lines();
    expect(more).toEqual([]);
    expect(line).toMatchObject({ user: 'eve","success":true,"x":"', db_user: 'a\nb', success: false });
  });
});

describe('PinoAuditLog.denied', () => {
  it('writes session.start with success: false and the fields known when it was refused', () => {
    const { audit, out } = setup();
    audit.denied({
      session_id: 'deadbeef',
      client_addr: '192.0.2.1:40000',
      user: 'mallory',
      database: 'prod',
      db_user: 'postgres',
      db_name: 'postgres',
      reason: 'access to database "prod" denied for mallory',
      code: 'GH_ERR_ACCESS_DENIED',
      sqlstate: '28000',
    });
    expect(withoutTime(out.lines()[0]!)).toEqual({
      stream: 'audit',
      session_id: 'deadbeef',
      client_addr: '192.0.2.1:40000',
      user: 'mallory',
      database: 'prod',
      db_user: 'postgres',
      db_name: 'postgres',
      reason: 'access to database "prod" denied for mallory',
      code: 'GH_ERR_ACCESS_DENIED',
      sqlstate: '28000',
      success: false,
      event: 'session.start',
    });
  });

  it('writes a refusal before identification with only the fields known then', () => {
    const { audit, out } = setup();
    audit.denied({ session_id: 'early', client_addr: '192.0.2.9:1', reason: 'no client certificate', code: 'GH_ERR_CERT_INVALID', sqlstate: '28000' });
    const line = out.lines()[0]!;
    expect(line).toMatchObject({ event: 'session.start', success: false, reason: 'no client certificate' });
    for (const field of ['user', 'database', 'db_user', 'db_name']) expect(line).not.toHaveProperty(field);
  });
});

describe('PinoAuditLog web API events', () => {
  it('writes auth.login for a success and a failure, with exactly the given fields', () => {
    const { audit, out } = setup();
    audit.login({ user: 'alice', client_addr: '192.0.2.1', success: true, mfa: true });
    audit.login({ user: 'mallory', client_addr: '192.0.2.2', success: false, reason: 'unknown user', mfa: false });
    const [success, failure, ...more] = out.lines();
    expect(more).toEqual([]);
    expect(withoutTime(success!)).toEqual({ stream: 'audit', event: 'auth.login', user: 'alice', client_addr: '192.0.2.1', success: true, mfa: true });
    expect(withoutTime(failure!)).toEqual({
      stream: 'audit',
      event: 'auth.login',
      user: 'mallory',
      client_addr: '192.0.2.2',
      success: false,
      reason: 'unknown user',
      mfa: false,
    });
  });

  it('writes cert.issued for an identity and a database certificate', () => {
    const { audit, out } = setup();
    audit.certIssued({ user: 'alice', kind: 'identity', serial: '0A1B', expires_at: '2030-01-01T00:00:00.000Z', client_addr: '192.0.2.1' });
    audit.certIssued({
      user: 'alice',
      kind: 'database',
      database: 'main',
      db_user: 'app_reader',
      db_name: 'app',
      serial: '0C2D',
      expires_at: '2030-01-01T00:00:00.000Z',
      client_addr: '192.0.2.1',
    });
    const [identity, database] = out.lines();
    expect(withoutTime(identity!)).toEqual({
      stream: 'audit',
      event: 'cert.issued',
      user: 'alice',
      kind: 'identity',
      serial: '0A1B',
      expires_at: '2030-01-01T00:00:00.000Z',
      client_addr: '192.0.2.1',
    });
    expect(withoutTime(database!)).toMatchObject({ event: 'cert.issued', kind: 'database', database: 'main', db_user: 'app_reader', db_name: 'app', serial: '0C2D' });
  });
});

describe('PinoAuditLog.close', () => {
  it('resolves with a destination that has nothing to flush', async () => {
    const { audit, out } = setup();
    audit.session(CONTEXT).started('u');
    await expect(audit.close()).resolves.toBeUndefined();
    expect(out.lines()).toHaveLength(1);
  });

  describe('with a file as output', () => {
    let temp: { path: string; remove: () => void };
    beforeEach(() => {
      temp = makeTempDir('audit');
    });
    afterEach(() => {
      temp.remove();
    });

    it('creates the directory and holds every line in the file after close()', async () => {
      const file = join(temp.path, 'logs', 'audit.jsonl');
      const audit = new PinoAuditLog({ output: file, log_query_parameters: true });
      // The file is opened asynchronously; close() can flush only an open file.
      await expect.poll(() => existsSync(file)).toBe(true);
      const session = audit.session(CONTEXT);
      session.started('u');
      for (let i = 0; i < 200; i++) session.query({ message: 'query', query: `SELECT ${i}` });
      session.ended({ reason: 'client closed', duration_ms: 5, bytes_from_client: 1, bytes_to_client: 1 });
      await audit.close();
      // close() writes what is buffered synchronously, but a write already in flight lands on its
      // own schedule (and may land after the flushed lines): wait for it, and compare as a set.
      const read = () => readFileSync(file, 'utf8').trimEnd().split('\n');
      await expect.poll(() => read().length).toBe(202);
      const lines = read().map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.filter((line) => line.event === 'session.start')).toHaveLength(1);
      expect(lines.filter((line) => line.event === 'session.end')).toHaveLength(1);
      const queries = lines.filter((line) => line.event === 'session.query').map((line) => line.query as string);
      expect(queries.sort()).toEqual(Array.from({ length: 200 }, (_, i) => `SELECT ${i}`).sort());
      expect(lines.every((line) => line.session_id === 'f3c1a9e2')).toBe(true);
    });

    it('writes a lone line within a moment, without waiting for the buffer to fill or for close()', async () => {
      const file = join(temp.path, 'audit.jsonl');
      const audit = new PinoAuditLog({ output: file, log_query_parameters: true });
      try {
        await expect.poll(() => existsSync(file)).toBe(true);
        audit.session(CONTEXT).started('u');
        // Far below the buffer size: only the periodic flush writes it.
        await expect.poll(() => readFileSync(file, 'utf8'), { timeout: 5_000 }).toContain('"event":"session.start"');
      } finally {
        await audit.close();
      }
    });
  });
});
