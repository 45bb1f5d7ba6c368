import { describe, expect, it } from 'vitest';
import { loginReason } from '../../../src/dbctl/database-login.js';
import type { DatabaseLogin } from '../../../src/dbctl/profile-store.js';

const NOW = Date.parse('2030-01-01T12:00:00Z');

function stored(notAfter: string, route: Partial<DatabaseLogin['route']> = {}): DatabaseLogin {
  return {
    route: { database: 'local', db_user: 'app_reader', db_name: 'app', ...route },
    dir: '/x',
    certPath: '/x/client.crt',
    keyPath: '/x/client.key',
    certPem: '',
    notAfter: new Date(notAfter),
  };
}

describe('when connect, config and proxy log in to a database first', () => {
  it('logs in without a certificate, with an expired one, or one about to expire', () => {
    expect(loginReason(undefined, { database: 'local' }, NOW)).toBe('no certificate yet');
    expect(loginReason(stored('2030-01-01T11:00:00Z'), { database: 'local' }, NOW)).toBe('the certificate expired at 2030-01-01T11:00:00.000Z');
    expect(loginReason(stored('2030-01-01T12:00:30Z'), { database: 'local' }, NOW)).toBe('the certificate is about to expire');
  });

  it('logs in when other defaults than the certificate holds are asked for', () => {
    expect(loginReason(stored('2030-01-01T13:00:00Z'), { database: 'local', dbUser: 'app_writer' }, NOW)).toBe('db user app_writer asked for');
    expect(loginReason(stored('2030-01-01T13:00:00Z'), { database: 'local', dbName: 'other' }, NOW)).toBe('db name other asked for');
  });

  it('uses the certificate it has otherwise', () => {
    expect(loginReason(stored('2030-01-01T13:00:00Z'), { database: 'local' }, NOW)).toBeUndefined();
    expect(loginReason(stored('2030-01-01T13:00:00Z'), { database: 'local', dbUser: 'app_reader', dbName: 'app' }, NOW)).toBeUndefined();
  });
});
