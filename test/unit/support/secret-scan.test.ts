// The secret scan must find what it is for: every kind of secret, in every form it takes when it
// leaks, planted in a log. Without this the CI check could pass by finding nothing ever.
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { newTotpSecret, decodeBase32 } from '../../../src/users/totp.js';
import secretScanSetup from '../../support/secret-scan-global.js';
import { appendLog, registerSecret, runLogFile, RUN_DIR_ENV, type RegisteredSecret } from '../../support/secret-ledger.js';
import { NeedleIndex, describeLeaks, scanRunDir, scanText } from '../../support/secret-scan.js';

const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const password: RegisteredSecret = { kind: 'password', label: 'a database password', value: 'pa"ss word\\with-quotes' };
const minted: RegisteredSecret = { kind: 'minted-password', label: 'a minted password', value: randomBytes(24).toString('base64') };
const seed: RegisteredSecret = { kind: 'totp-seed', label: 'a TOTP seed', value: newTotpSecret() };
const ec: RegisteredSecret = { kind: 'private-key', label: 'an EC key', value: ecKey };
const rsa: RegisteredSecret = { kind: 'private-key', label: 'an RSA key', value: rsaKey };
const index = new NeedleIndex([password, minted, seed, ec, rsa]);

function found(text: string): string[] {
  return scanText(text, index, 'planted.log').map((leak) => `${leak.label}: ${leak.form}`);
}

describe('the secret scan', () => {
  it('finds nothing in a clean log, including public keys and certificates', () => {
    const publicPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(found(`{"level":30,"msg":"session started","user":"alice"}\n${publicPem}\n{"password":"[redacted]"}\n`)).toEqual([]);
  });

  it('finds a password as is, escaped in JSON, URL-encoded and base64-encoded', () => {
    expect(found(`login failed for ${password.value}\n`)).toContain('a database password: as is');
    expect(found(`${JSON.stringify({ password: password.value })}\n`)).toContain('a database password: JSON-escaped');
    expect(found(`postgres://u:${encodeURIComponent(password.value)}@h/db\n`)).toContain('a database password: URL-encoded');
    expect(found(`Authorization: Basic ${Buffer.from(password.value).toString('base64')}\n`)).toContain('a database password: base64');
    expect(found(`{"token":"${minted.value}"}`)).toEqual(['a minted password: as is']);
  });

  it('finds a TOTP seed as base32, and its raw key in hex', () => {
    expect(found(`otpauth://totp/Gatehouse:alice?secret=${seed.value}&issuer=Gatehouse`)).toContain('a TOTP seed: as is');
    expect(found(`key=${decodeBase32(seed.value).toString('hex')}`)).toContain('a TOTP seed: raw key (hex)');
  });

  it('finds a private key as PEM, as a JSON string, as one line of it, and as its secret number', () => {
    expect(found(ecKey)).toEqual([expect.stringMatching(/^an EC key: PEM/)]);
    expect(found(JSON.stringify({ keyPem: rsaKey }))).toEqual([expect.stringMatching(/^an RSA key: PEM/)]);
    expect(found(JSON.stringify({ keyPem: rsaKey.replace(/\n/g, '') }))).toEqual([expect.stringMatching(/^an RSA key: PEM/)]);
    expect(found(`partial: ${rsaKey.split('\n')[5]}`)).toEqual(['an RSA key: PEM line']);
    const d = ecKeyD();
    expect(found(`d=${d}`)).toContain('an EC key: JWK d (base64url)');
    expect(found(`scalar ${Buffer.from(d, 'base64url').toString('hex')}`)).toContain('an EC key: private d (hex)');
  });

  it('reports file and line and never the secret itself', () => {
    const leaks = scanText(`one\ntwo ${minted.value}\n`, index, 'x.log');
    expect(leaks).toEqual([expect.objectContaining({ file: 'x.log', line: 2, kind: 'minted-password', masked: `${minted.value.slice(0, 3)}…` })]);
    expect(describeLeaks(leaks)).not.toContain(minted.value);
  });
});

describe('the end-of-run check (vitest globalSetup)', () => {
  const saved = process.env[RUN_DIR_ENV];
  const savedExitCode = process.exitCode;
  afterEach(() => {
    process.env[RUN_DIR_ENV] = saved;
    process.exitCode = savedExitCode;
  });

  it('removes the run directory of a clean run', () => {
    const teardown = secretScanSetup();
    const dir = process.env[RUN_DIR_ENV]!;
    registerSecret('password', 'a password', 'never-logged-password');
    appendLog(runLogFile('gatehouse-log'), '{"msg":"nothing to see"}\n');
    teardown();
    expect(existsSync(dir)).toBe(false);
  });

  it('fails the run when a registered secret was logged, and keeps the evidence', () => {
    // The report goes to stderr in a real run; here it would read like a real leak in the test output.
    const report = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const teardown = secretScanSetup();
    const dir = process.env[RUN_DIR_ENV]!;
    try {
      registerSecret('private-key', 'a planted key', ecKey);
      registerSecret('password', 'a planted password', 'planted-password-123');
      appendLog(runLogFile('gatehouse-log'), `${JSON.stringify({ msg: 'oops', detail: ecKey })}\n`);
      appendLog(runLogFile('gatehouse-audit'), '{"event":"session.start"}\n{"q":"planted-password-123"}\n');
      expect(() => teardown()).toThrow(/secret scan: 2 secret\(s\) found/);
      expect(process.exitCode).toBe(1);
      expect(existsSync(dir)).toBe(true);
      const result = scanRunDir(dir);
      expect(result.leaks.map((leak) => leak.label).sort()).toEqual(['a planted key', 'a planted password']);
      expect(result.leaks.find((leak) => leak.label === 'a planted password')?.line).toBe(2);
      expect(report).toHaveBeenCalledWith(expect.stringContaining('logs/gatehouse-audit-'));
    } finally {
      report.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does nothing without a run directory (the benchmark, scripts)', () => {
    delete process.env[RUN_DIR_ENV];
    expect(() => registerSecret('password', 'ignored', 'ignored-password')).not.toThrow();
    expect(runLogFile('x')).toBeUndefined();
  });
});

/** The EC key's private scalar, as a JWK writes it. */
function ecKeyD(): string {
  const d = createPrivateKey(ecKey).export({ format: 'jwk' }).d;
  if (d === undefined) throw new Error('no d in the JWK');
  return d;
}
