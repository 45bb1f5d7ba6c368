import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTHORITY_FILES, initAuthorities } from '../../../src/ca/authority-store.js';
import { identityFromCertificate } from '../../../src/ca/identity.js';
import { registerCertsIssueCommand } from '../../../src/cli/certs-issue.js';
import { writeUsersFile } from '../../../src/users/users-file.js';
import { runCommand, writeConfig } from './cli-harness.js';

const HOUR = 3_600_000;
let root: string;
let caDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-certs-issue-'));
  caDir = join(root, 'certs');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function issue(config: string, ...args: string[]) {
  return runCommand(registerCertsIssueCommand, ['certs', 'issue', '--config', config, ...args]);
}

describe('gatehouse certs issue', () => {
  it('writes a client certificate, its key and the host CA, and prints the psql command', async () => {
    const config = writeConfig(root);
    initAuthorities(caDir, 'gatehouse.test');
    const out = join(root, 'alice');
    const before = Date.now();
    const result = await issue(config, '--user', 'alice', '--db', 'local', '--db-user', 'app_reader', '--db-name', 'app', '--ttl', '2h', '--out', out);
    const after = Date.now();
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBeUndefined();

    const certPem = readFileSync(join(out, 'client.crt'), 'utf8');
    const certificate = new X509Certificate(certPem);
    const identity = identityFromCertificate(certificate.raw);
    expect(identity.user).toBe('alice');
    expect(identity.route).toEqual({ database: 'local', dbUser: 'app_reader', dbName: 'app' });
    expect(certificate.verify(new X509Certificate(readFileSync(join(caDir, AUTHORITY_FILES.userCaCert))).publicKey)).toBe(true);
    expect(certificate.checkPrivateKey(createPrivateKey(readFileSync(join(out, 'client.key'), 'utf8')))).toBe(true);
    expect(statSync(join(out, 'client.key')).mode & 0o777).toBe(0o600);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(out, 'ca.crt'), 'utf8')).toBe(readFileSync(join(caDir, AUTHORITY_FILES.hostCaCert), 'utf8'));
    // Certificates carry whole seconds.
    expect(identity.notAfter.getTime()).toBeGreaterThan(before + 2 * HOUR - 1_000);
    expect(identity.notAfter.getTime()).toBeLessThanOrEqual(after + 2 * HOUR);

    expect(result.stdout).toContain(`valid until ${identity.notAfter.toISOString()} (2h)`);
    expect(result.stdout).toContain(
      `  psql "host=gatehouse.test port=15432 sslmode=verify-full sslrootcert=${out}/ca.crt sslcert=${out}/client.crt sslkey=${out}/client.key user=app_reader dbname=app"\n`,
    );
  });

  it('signs for a user that exists only in the users file (gatehouse users add)', async () => {
    const config = writeConfig(root);
    initAuthorities(caDir, 'gatehouse.test');
    const stamp = new Date().toISOString();
    writeUsersFile(join(root, 'data', 'users.yaml'), [{ name: 'bob', roles: ['access'], traits: {}, created_at: stamp, updated_at: stamp }]);
    const out = join(root, 'bob');
    const result = await issue(config, '--user', 'bob', '--db', 'local', '--out', out);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBeUndefined();
    expect(identityFromCertificate(new X509Certificate(readFileSync(join(out, 'client.crt'))).raw).user).toBe('bob');
  });

  it('leaves user and dbname out of the route and the command when not given, and takes the port from public_addr', async () => {
    const config = writeConfig(root, 'gatehouse.test:6432');
    initAuthorities(caDir, 'gatehouse.test:6432');
    const out = join(root, 'plain');
    const result = await issue(config, '--user', 'alice', '--db', 'local', '--out', out);
    expect(result.exitCode).toBeUndefined();
    expect(identityFromCertificate(new X509Certificate(readFileSync(join(out, 'client.crt'))).raw).route).toEqual({ database: 'local' });
    expect(result.stdout).toContain(`psql "host=gatehouse.test port=6432 sslmode=verify-full sslrootcert=${out}/ca.crt sslcert=${out}/client.crt sslkey=${out}/client.key"\n`);
    // The default --ttl is 1h.
    expect(result.stdout).toMatch(/valid until .* \(1h\)/);
  });

  it('quotes paths with spaces for libpq and the shell', async () => {
    const config = writeConfig(root);
    initAuthorities(caDir, 'gatehouse.test');
    const out = join(root, 'my certs');
    const result = await issue(config, '--user', 'alice', '--db', 'local', '--out', out);
    expect(result.exitCode).toBeUndefined();
    expect(result.stdout).toContain(`sslrootcert='${out}/ca.crt' sslcert='${out}/client.crt'`);
  });

  it('caps the ttl at the role maximum and says so', async () => {
    const config = writeConfig(root);
    initAuthorities(caDir, 'gatehouse.test');
    const out = join(root, 'long');
    const before = Date.now();
    const result = await issue(config, '--user', 'alice', '--db', 'local', '--ttl', '24h', '--out', out);
    const after = Date.now();
    expect(result.exitCode).toBeUndefined();
    expect(result.stderr).toBe("note: --ttl 24h is longer than alice's roles allow; the certificate is valid for 8h\n");
    const notAfter = new Date(new X509Certificate(readFileSync(join(out, 'client.crt'))).validTo).getTime();
    expect(notAfter).toBeGreaterThan(before + 8 * HOUR - 1_000);
    expect(notAfter).toBeLessThanOrEqual(after + 8 * HOUR);
  });

  it('warns when the default db user in the certificate would be refused', async () => {
    const config = writeConfig(root);
    initAuthorities(caDir, 'gatehouse.test');
    const result = await issue(config, '--user', 'alice', '--db', 'local', '--db-user', 'postgres', '--out', join(root, 'w'));
    expect(result.exitCode).toBeUndefined();
    expect(result.stderr).toMatch(/^warning: connecting with the defaults in this certificate will be refused: .*postgres/);
  });

  it.each([
    [['--user', 'mallory', '--db', 'local'], /^unknown user "mallory": .*gatehouse\.yaml has no such user \(users: alice\)\n$/],
    [['--user', 'alice', '--db', 'nowhere'], /^unknown database "nowhere": .*gatehouse\.yaml has no such database \(databases: local, prod\)\n$/],
    [['--user', 'alice', '--db', 'prod'], /^not issuing a certificate alice could never use: .+\n$/],
    [['--user', 'alice', '--db', 'local', '--ttl', 'forever'], /^--ttl: "forever" is not a duration/],
    [['--user', 'alice', '--db', 'local', '--ttl', '0'], /^--ttl must be longer than 0/],
  ])('refuses %j', async (args, message) => {
    const config = writeConfig(root);
    initAuthorities(caDir, 'gatehouse.test');
    const out = join(root, 'refused');
    const result = await issue(config, ...args, '--out', out);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('says to run ca init when there is no CA yet', async () => {
    const config = writeConfig(root);
    const result = await issue(config, '--user', 'alice', '--db', 'local', '--out', join(root, 'x'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/is incomplete \(missing .*\); run "gatehouse ca init --config FILE"\n$/);
  });

  it('refuses a CA key others can read', async () => {
    const config = writeConfig(root);
    initAuthorities(caDir, 'gatehouse.test');
    chmodSync(join(caDir, AUTHORITY_FILES.userCaKey), 0o644);
    const result = await issue(config, '--user', 'alice', '--db', 'local', '--out', join(root, 'x'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`chmod 600 ${join(caDir, AUTHORITY_FILES.userCaKey)}`);
  });

  it('narrows an existing readable client.key when overwriting it', async () => {
    const config = writeConfig(root);
    initAuthorities(caDir, 'gatehouse.test');
    const out = join(root, 'again');
    await issue(config, '--user', 'alice', '--db', 'local', '--out', out);
    writeFileSync(join(out, 'client.key'), 'old');
    chmodSync(join(out, 'client.key'), 0o644);
    const result = await issue(config, '--user', 'alice', '--db', 'local', '--out', out);
    expect(result.exitCode).toBeUndefined();
    expect(statSync(join(out, 'client.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'client.key'), 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
  });

  it('requires --user, --db and --out', async () => {
    const config = writeConfig(root);
    const result = await issue(config, '--db', 'local', '--out', join(root, 'x'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/required option '--user <name>' not specified/);
  });
});

