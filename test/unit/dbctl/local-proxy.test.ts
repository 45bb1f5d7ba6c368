import { describe, expect, it } from 'vitest';
import { isLoopbackHost, rewriteStartupParameters } from '../../../src/dbctl/local-proxy.js';

const fromPsql = (user: string, database: string) =>
  new Map([
    ['user', user],
    ['database', database],
    ['application_name', 'psql'],
    ['client_encoding', 'UTF8'],
  ]);

describe("the local proxy's startup rewriting", () => {
  it('forwards what the client sent when nothing is to be replaced', () => {
    const parameters = fromPsql('root', 'app');
    const rewritten = rewriteStartupParameters(parameters, {});
    expect(rewritten).toEqual(parameters);
    expect(rewritten).not.toBe(parameters);
  });

  it('replaces the user and the database when both are given, keeping every other parameter', () => {
    expect([...rewriteStartupParameters(fromPsql('root', 'root'), { dbUser: 'app_reader', dbName: 'app' })]).toEqual([
      ['user', 'app_reader'],
      ['database', 'app'],
      ['application_name', 'psql'],
      ['client_encoding', 'UTF8'],
    ]);
  });

  it("drops the database libpq filled in from the OS user when only the user is replaced, so the certificate's default applies", () => {
    const rewritten = rewriteStartupParameters(fromPsql('root', 'root'), { dbUser: 'app_reader' });
    expect(rewritten.get('user')).toBe('app_reader');
    expect(rewritten.has('database')).toBe(false);
  });

  it('keeps a database the client named itself when only the user is replaced', () => {
    expect(rewriteStartupParameters(fromPsql('root', 'reports'), { dbUser: 'app_reader' }).get('database')).toBe('reports');
  });

  it('replaces only the database when only the database is given', () => {
    const rewritten = rewriteStartupParameters(fromPsql('app_reader', 'app_reader'), { dbName: 'app' });
    expect(rewritten.get('user')).toBe('app_reader');
    expect(rewritten.get('database')).toBe('app');
  });

  it('adds user and database for a client that sent none', () => {
    const rewritten = rewriteStartupParameters(new Map(), { dbUser: 'u', dbName: 'd' });
    expect(Object.fromEntries(rewritten)).toEqual({ user: 'u', database: 'd' });
  });
});

describe('loopback --bind addresses', () => {
  it('accepts only addresses other machines cannot reach', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
  });
});
