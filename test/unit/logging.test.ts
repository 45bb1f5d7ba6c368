// The daemon's root logger: JSON lines with the service name, and redaction of secrets configured
// once for the root and every child. The redaction tests put each secret in a value that appears
// nowhere else, then search the whole output for it.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging.js';
import { CaptureStream } from '../support/capture-stream.js';



const SECRET_NAMES = [
  'password', 'Password', 'DbPassword', 'secret', 'token', 'Token', 'sessionToken', 'SessionToken',
  'key', 'privateKey', 'private_key', 'keyPem', 'secretKey', 'secretAccessKey', 'SecretAccessKey',
  'dbPassword', 'WebIdentityToken', 'webIdentityToken',
] as const;

/** An object with every secret field name at this level, each value unique and easy to find. */
function secrets(tag: string): Record<string, string> {
  return Object.fromEntries(SECRET_NAMES.map((name) => [name, `SECRET-${tag}-${name}`]));
}

describe('createLogger', () => {
  it('writes one JSON line per record with level, ISO time, service and message', () => {
    const out = new CaptureStream();
    const logger = createLogger('info', out);
    logger.info({ port: 5432 }, 'listening');
    const [line, ...more] = out.lines();
    expect(more).toEqual([]);
    const { time, ...rest } = line!;
    expect(time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(rest).toEqual({ level: 30, service: 'gatehouse', port: 5432, msg: 'listening' });
  });

  it('drops records below the configured level', () => {
    const out = new CaptureStream();
    const logger = createLogger('warn', out);
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(out.lines().map((line) => line.msg)).toEqual(['w', 'e']);
  });

  it('writes nothing at level silent', () => {
    const out = new CaptureStream();
    const logger = createLogger('silent', out);
    logger.fatal('f');
    expect(out.text).toBe('');
  });

  it('adds a child’s bindings to each of its records', () => {
    const out = new CaptureStream();
    const logger = createLogger('info', out);
    logger.child({ session_id: 'abc' }).info('session started');
    expect(out.lines()[0]).toMatchObject({ service: 'gatehouse', session_id: 'abc', msg: 'session started' });
  });
});

describe('createLogger redaction', () => {
  it('blanks every secret field three levels down, AWS SDK spellings included', () => {
    const out = new CaptureStream();
    createLogger('info', out).info({ aws: { call: { credentials: secrets('deep') } } }, 'aws call');
    expect(out.text).not.toContain('SECRET-');
  });

  it('blanks every secret field at the top level', () => {
    const out = new CaptureStream();
    createLogger('info', out).info({ ...secrets('top'), user: 'alice' }, 'connect');
    const line = out.lines()[0]!;
    for (const name of SECRET_NAMES) expect(line[name]).toBe('[redacted]');
    expect(line.user).toBe('alice');
    expect(out.text).not.toContain('SECRET-');
  });

  it('blanks every secret field one level down', () => {
    const out = new CaptureStream();
    createLogger('info', out).info({ credentials: { ...secrets('nested'), user: 'svc' }, tls: secrets('tls') }, 'upstream login');
    const line = out.lines()[0]!;
    expect(line.credentials).toEqual({ ...Object.fromEntries(SECRET_NAMES.map((name) => [name, '[redacted]'])), user: 'svc' });
    expect(out.text).not.toContain('SECRET-');
  });

  it('blanks passwords and tokens two levels down', () => {
    const out = new CaptureStream();
    createLogger('info', out).info(
      { database: { auth: { user: 'svc', password: 'SECRET-deep-password', token: 'SECRET-deep-token' } } },
      'config',
    );
    expect(out.lines()[0]!.database).toEqual({ auth: { user: 'svc', password: '[redacted]', token: '[redacted]' } });
    expect(out.text).not.toContain('SECRET-');
  });

  it('blanks secrets in objects inside arrays', () => {
    const out = new CaptureStream();
    createLogger('info', out).info({ users: [{ name: 'a', password: 'SECRET-array-0' }, { name: 'b', password: 'SECRET-array-1' }] }, 'users');
    expect(out.lines()[0]!.users).toEqual([
      { name: 'a', password: '[redacted]' },
      { name: 'b', password: '[redacted]' },
    ]);
    expect(out.text).not.toContain('SECRET-');
  });

  it('blanks secrets in a child’s bindings', () => {
    const out = new CaptureStream();
    const child = createLogger('info', out).child({ session_id: 's1', token: 'SECRET-child-token', upstream: { password: 'SECRET-child-password' } });
    child.info('first');
    child.warn('second');
    expect(out.lines()).toHaveLength(2);
    expect(out.text).not.toContain('SECRET-');
    expect(out.lines()[0]).toMatchObject({ session_id: 's1', token: '[redacted]', upstream: { password: '[redacted]' } });
  });

  it('blanks secrets attached to a logged error, and keeps its message', () => {
    const out = new CaptureStream();
    const error = Object.assign(new Error('login failed'), { password: 'SECRET-error-password' });
    createLogger('info', out).error({ err: error }, 'upstream login failed');
    const line = out.lines()[0]!;
    expect(line.err).toMatchObject({ message: 'login failed', password: '[redacted]' });
    expect(out.text).not.toContain('SECRET-');
  });

  it('redacts in the output only: the caller’s object keeps its values', () => {
    const out = new CaptureStream();
    const record = { password: 'SECRET-kept', nested: { token: 'SECRET-kept-token' } };
    createLogger('info', out).info(record, 'x');
    expect(record).toEqual({ password: 'SECRET-kept', nested: { token: 'SECRET-kept-token' } });
    expect(out.text).not.toContain('SECRET-');
  });
});
