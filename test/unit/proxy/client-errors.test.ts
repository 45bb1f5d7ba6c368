// clientErrorFor decides what the person at psql reads when Gatehouse ends their session. The
// responses are parsed back with Gatehouse's own ErrorResponse field reader.
import { describe, expect, it } from 'vitest';
import { ErrorCodes, GatehouseError, ProtocolError, SqlState } from '../../../src/errors.js';
import { parseErrorFields } from '../../../src/protocol/error-fields.js';
import { clientErrorFor } from '../../../src/proxy/client-errors.js';
import { UpstreamRefusal } from '../../../src/proxy/upstream-login.js';

/** The fields of one whole ErrorResponse message, after checking its framing. */
function fieldsOf(response: Buffer): Map<string, string> {
  expect(String.fromCharCode(response[0]!)).toBe('E');
  expect(response.readInt32BE(1)).toBe(response.length - 1);
  return parseErrorFields(response.subarray(5));
}

/** An ErrorResponse as a PostgreSQL server writes it, with the fields Gatehouse never writes itself. */
function serverErrorResponse(fields: [string, string][]): Buffer {
  const body = Buffer.concat([...fields.map(([code, value]) => Buffer.from(`${code}${value}\0`)), Buffer.from([0])]);
  const header = Buffer.alloc(5);
  header[0] = 0x45;
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

describe('clientErrorFor: Gatehouse’s own errors', () => {
  it('sends a FATAL ErrorResponse with the error’s SQLSTATE, message, detail and hint', () => {
    const error = new GatehouseError(ErrorCodes.ACCESS_DENIED, 'access to database "prod" denied for alice', {
      sqlState: SqlState.INVALID_AUTHORIZATION,
      detail: 'no role allows db_user "postgres"',
      hint: 'Ask an administrator for a role that allows it.',
    });
    const result = clientErrorFor(error, 'sess-1');
    expect(result).toMatchObject({
      sqlState: '28000',
      code: 'GH_ERR_ACCESS_DENIED',
      message: 'access to database "prod" denied for alice',
      unexpected: false,
    });
    expect(Object.fromEntries(fieldsOf(result.response))).toEqual({
      S: 'FATAL',
      V: 'FATAL',
      C: '28000',
      M: 'access to database "prod" denied for alice',
      D: 'no role allows db_user "postgres"',
      H: 'Ask an administrator for a role that allows it.',
    });
  });

  it('leaves out the detail and hint fields the error does not have', () => {
    const error = new GatehouseError(ErrorCodes.SHUTTING_DOWN, 'Gatehouse is shutting down', { sqlState: SqlState.ADMIN_SHUTDOWN });
    const fields = fieldsOf(clientErrorFor(error, 'sess-1').response);
    expect([...fields.keys()]).toEqual(['S', 'V', 'C', 'M']);
    expect(fields.get('C')).toBe('57P01');
  });

  it('sends a ProtocolError as 08P01 with its own code', () => {
    const error = new ProtocolError('message too large: ...', ErrorCodes.MESSAGE_TOO_LARGE);
    const result = clientErrorFor(error, 'sess-1');
    expect(result).toMatchObject({ sqlState: '08P01', code: 'GH_ERR_MESSAGE_TOO_LARGE', unexpected: false });
    expect(fieldsOf(result.response).get('M')).toBe('message too large: ...');
  });

  it('keeps a user-chosen NUL from splitting the message into extra fields', () => {
    const error = new GatehouseError(ErrorCodes.UNKNOWN_USER, 'no user "eve\0Hfake hint"', { sqlState: SqlState.INVALID_AUTHORIZATION });
    const fields = fieldsOf(clientErrorFor(error, 'sess-1').response);
    expect(fields.has('H')).toBe(false);
    expect(fields.get('M')).toBe('no user "eve\uFFFDHfake hint"');
  });
});

describe('clientErrorFor: the database’s refusal', () => {
  it('forwards the database’s ErrorResponse byte for byte', () => {
    const raw = serverErrorResponse([
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', '28P01'],
      ['M', 'password authentication failed for user "app"'],
      ['F', 'auth.c'],
      ['L', '326'],
      ['R', 'auth_failed'],
    ]);
    const copy = Buffer.from(raw);
    const refusal = new UpstreamRefusal(raw, parseErrorFields(raw.subarray(5)));
    const result = clientErrorFor(refusal, 'sess-1');
    expect(result.response.equals(copy)).toBe(true);
    expect(result).toMatchObject({
      sqlState: '28P01',
      code: 'GH_ERR_UPSTREAM_ERROR',
      message: 'password authentication failed for user "app"',
      unexpected: false,
    });
  });

  it('keeps the severity the database chose', () => {
    const raw = serverErrorResponse([
      ['S', 'ERROR'],
      ['C', '3D000'],
      ['M', 'database "nope" does not exist'],
    ]);
    const result = clientErrorFor(new UpstreamRefusal(raw, parseErrorFields(raw.subarray(5))), 'sess-1');
    expect(result.response.equals(raw)).toBe(true);
    expect(result.sqlState).toBe('3D000');
  });

  it('falls back to 08006 and a generic message for a refusal without SQLSTATE or message', () => {
    const raw = serverErrorResponse([['S', 'FATAL']]);
    const result = clientErrorFor(new UpstreamRefusal(raw, parseErrorFields(raw.subarray(5))), 'sess-1');
    expect(result.response.equals(raw)).toBe(true);
    expect(result.sqlState).toBe('08006');
    expect(result.message).toBe('the database refused the login');
  });
});

describe('clientErrorFor: anything unexpected', () => {
  const secret = 'connect ECONNREFUSED password=hunter2 at /etc/gatehouse/secret.pem';

  for (const [what, thrown] of [
    ['an Error', new Error(secret)],
    ['a TypeError', new TypeError(`Cannot read properties of undefined (${secret})`)],
    ['a thrown string', secret],
    ['undefined', undefined],
  ] as const) {
    it(`turns ${what} into XX000 naming the session, without its text`, () => {
      const result = clientErrorFor(thrown, 'a1b2c3');
      expect(result).toMatchObject({
        sqlState: 'XX000',
        code: 'GH_ERR_INTERNAL',
        message: 'internal error in Gatehouse (session a1b2c3)',
        unexpected: true,
      });
      expect(Object.fromEntries(fieldsOf(result.response))).toEqual({
        S: 'FATAL',
        V: 'FATAL',
        C: 'XX000',
        M: 'internal error in Gatehouse (session a1b2c3)',
        H: 'This is a bug in Gatehouse; the administrator can find the details in its log under this session id.',
      });
      const text = result.response.toString('latin1');
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('ECONNREFUSED');
      expect(text).not.toContain('secret.pem');
    });
  }
});
