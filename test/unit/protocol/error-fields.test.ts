import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ProtocolError } from '../../../src/errors.js';
import { parseErrorFields, parseErrorNotice } from '../../../src/protocol/error-fields.js';

/** The body of the ErrorResponse PostgreSQL 17 sends for a wrong password. */
const WRONG_PASSWORD = Buffer.from(
  'SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "alice"\0Fauth.c\0L323\0Rauth_failed\0\0',
  'latin1',
);

describe('parseErrorFields', () => {
  it('reads every field of a real server error, in order', () => {
    expect([...parseErrorFields(WRONG_PASSWORD)]).toEqual([
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', '28P01'],
      ['M', 'password authentication failed for user "alice"'],
      ['F', 'auth.c'],
      ['L', '323'],
      ['R', 'auth_failed'],
    ]);
  });

  it('reads an empty field list', () => {
    expect(parseErrorFields(Buffer.from([0])).size).toBe(0);
  });

  it('keeps the last value of a repeated field, as libpq does', () => {
    expect(parseErrorFields(Buffer.from('Mfirst\0Msecond\0\0')).get('M')).toBe('second');
  });

  it('decodes UTF-8 values', () => {
    expect(parseErrorFields(Buffer.from('Mrelation «zoë» does not exist\0\0')).get('M')).toBe('relation «zoë» does not exist');
  });

  it('refuses malformed bodies', () => {
    const cases: [string, RegExp][] = [
      ['', /does not end with a zero byte/],
      ['SFATAL\0', /does not end with a zero byte/],
      ['SFATAL', /field 'S' is not NUL-terminated/],
      ['S', /field 'S' is not NUL-terminated/],
      ['SFATAL\0\0x', /1 bytes follow/],
    ];
    for (const [body, message] of cases) expect(() => parseErrorFields(Buffer.from(body))).toThrow(message);
  });

  it('refuses every strict prefix of a real error', () => {
    for (let cut = 0; cut < WRONG_PASSWORD.length; cut++) {
      expect(() => parseErrorFields(WRONG_PASSWORD.subarray(0, cut))).toThrow(ProtocolError);
    }
  });

  it('lets nothing but a ProtocolError escape for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          parseErrorFields(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseErrorNotice', () => {
  it('types the fields of a real server error', () => {
    const notice = parseErrorNotice(WRONG_PASSWORD);
    expect(notice).toMatchObject({
      severity: 'FATAL',
      severityNonLocalized: 'FATAL',
      sqlState: '28P01',
      message: 'password authentication failed for user "alice"',
    });
    expect(notice.detail).toBeUndefined();
    expect(notice.fields.get('R')).toBe('auth_failed');
  });

  it('reads the optional fields', () => {
    const body = Buffer.from('SERROR\0C23505\0Mduplicate key\0Dkey (id)=(1) exists\0Hretry\0P7\0Wcontext\0spublic\0tt\0cid\0dint4\0nt_pkey\0\0');
    expect(parseErrorNotice(body)).toMatchObject({
      detail: 'key (id)=(1) exists',
      hint: 'retry',
      position: '7',
      where: 'context',
      schema: 'public',
      table: 't',
      column: 'id',
      dataType: 'int4',
      constraint: 't_pkey',
    });
  });

  it('refuses an error without severity, SQLSTATE or message', () => {
    expect(() => parseErrorNotice(Buffer.from('C28000\0Mm\0\0'))).toThrow(/severity field/);
    expect(() => parseErrorNotice(Buffer.from('SFATAL\0Mm\0\0'))).toThrow(/SQLSTATE field/);
    expect(() => parseErrorNotice(Buffer.from('SFATAL\0C28000\0\0'))).toThrow(/message field/);
  });
});
