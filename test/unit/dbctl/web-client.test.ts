import { describe, expect, it } from 'vitest';
import { apiError, apiErrorBody, formatProxy } from '../../../src/dbctl/web-client.js';

describe("the web API's error answers", () => {
  it('read the code, message, hint and extra fields', () => {
    expect(apiErrorBody({ error: { code: 'GH_ERR_UNKNOWN_DATABASE', message: 'no database "x"', available: ['a', 'b'] } })).toEqual({
      code: 'GH_ERR_UNKNOWN_DATABASE',
      message: 'no database "x"',
      extra: { available: ['a', 'b'] },
    });
    expect(apiErrorBody({ error: { code: 'GH_ERR_LOGIN_THROTTLED', message: 'too many', hint: 'wait' }, retry_after_s: 30 })).toEqual({
      code: 'GH_ERR_LOGIN_THROTTLED',
      message: 'too many',
      hint: 'wait',
      extra: { retry_after_s: 30 },
    });
    for (const body of [undefined, 'text', { error: 'x' }, { error: { code: 1, message: 'm' } }]) expect(apiErrorBody(body)).toBeUndefined();
  });

  it('end dbctl with 2 when Gatehouse refused the person, 1 otherwise', () => {
    const body = { error: { code: 'GH_ERR_X', message: 'because' } };
    for (const status of [401, 403, 404, 429]) expect(apiError({ status, headers: {}, body }, 'login as alice').exitCode).toBe(2);
    for (const status of [400, 405, 500, 503]) expect(apiError({ status, headers: {}, body }, 'login as alice').exitCode).toBe(1);
  });

  it("repeat Gatehouse's message and hint, then dbctl's own hint", () => {
    const error = apiError(
      { status: 403, headers: {}, body: { error: { code: 'GH_ERR_ACCESS_DENIED', message: 'access denied by role access', hint: 'ask' } } },
      'a certificate for database prod',
      'see dbctl ls',
    );
    expect(error.message).toBe('a certificate for database prod refused: access denied by role access');
    expect(error.hint).toBe('ask; see dbctl ls');
    expect(error.code).toBe('GH_ERR_ACCESS_DENIED');
  });

  it('say what came back when it is not an API error', () => {
    expect(apiError({ status: 502, headers: {}, body: undefined }, 'listing databases').message).toBe('listing databases failed: Gatehouse answered HTTP 502');
  });

  it('write proxies as host:port with IPv6 in brackets', () => {
    expect(formatProxy({ host: 'gh.example.com', port: 3080 })).toBe('gh.example.com:3080');
    expect(formatProxy({ host: '::1', port: 3080 })).toBe('[::1]:3080');
  });
});
