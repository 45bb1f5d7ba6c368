import { chmodSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readPrivateKeyFile, writePrivateKeyFile } from '../../../src/ca/key-files.js';
import { ErrorCodes, GatehouseError, SqlState } from '../../../src/errors.js';

const PEM = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const modeOf = (path: string): number => statSync(path).mode & 0o777;

function refusal(path: string): GatehouseError {
  try {
    readPrivateKeyFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return error as GatehouseError;
  }
  throw new Error('expected readPrivateKeyFile to refuse');
}

describe.skipIf(process.platform === 'win32')('private key files', () => {
  it('writes a new key with mode 0600 into a new 0700 directory', () => {
    const path = join(dir, 'new', 'nested', 'user_ca.key');
    writePrivateKeyFile(path, PEM);
    expect(modeOf(path)).toBe(0o600);
    expect(modeOf(join(dir, 'new'))).toBe(0o700);
    expect(modeOf(join(dir, 'new', 'nested'))).toBe(0o700);
    expect(readFileSync(path, 'utf8')).toBe(PEM);
  });

  it('leaves an existing directory as it is', () => {
    const parent = join(dir, 'existing');
    mkdirSync(parent, { mode: 0o755 });
    chmodSync(parent, 0o755);
    writePrivateKeyFile(join(parent, 'k.key'), PEM);
    expect(modeOf(parent)).toBe(0o755);
  });

  it('narrows an existing key file to 0600 and replaces its content', () => {
    const path = join(dir, 'old.key');
    writeFileSync(path, 'old secret that is much longer than the new one\n'.repeat(20));
    chmodSync(path, 0o644);
    writePrivateKeyFile(path, PEM);
    expect(modeOf(path)).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(PEM);
  });

  it('reads back a 0600 key', () => {
    const path = join(dir, 'ok.key');
    writePrivateKeyFile(path, PEM);
    expect(readPrivateKeyFile(path)).toBe(PEM);
    chmodSync(path, 0o400);
    expect(readPrivateKeyFile(path)).toBe(PEM);
  });

  it('refuses a world-readable key, naming the file, its mode and the fix', () => {
    const path = join(dir, 'open.key');
    writeFileSync(path, PEM);
    chmodSync(path, 0o644);
    const error = refusal(path);
    expect(error.code).toBe(ErrorCodes.KEY_PERMISSIONS);
    expect(error.sqlState).toBe(SqlState.INTERNAL_ERROR);
    expect(error.message).toBe(`private key file ${path} has mode 0644, so users other than its owner can access it; fix it with: chmod 600 ${path}`);
  });

  it.each([0o640, 0o604, 0o660, 0o620, 0o601])('refuses mode %s', (mode) => {
    const path = join(dir, 'group.key');
    writeFileSync(path, PEM);
    chmodSync(path, mode);
    expect(refusal(path).message).toContain(`has mode 0${mode.toString(8)}`);
  });

  it('quotes a path with spaces in the chmod command', () => {
    const path = join(dir, 'my keys', 'a.key');
    mkdirSync(join(dir, 'my keys'));
    writeFileSync(path, PEM, { mode: 0o644 });
    chmodSync(path, 0o644);
    expect(refusal(path).message).toContain(`chmod 600 '${path}'`);
  });

  it('says when the key file is missing or not a file', () => {
    expect(refusal(join(dir, 'missing.key')).message).toBe(`cannot read private key file ${join(dir, 'missing.key')}: it does not exist`);
    expect(refusal(dir).message).toMatch(/it is not a regular file/);
  });
});
