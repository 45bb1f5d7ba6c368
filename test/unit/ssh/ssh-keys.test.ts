import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utils } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureSshKeyPair, readSshPrivateKey } from '../../../src/ssh/ssh-keys.js';
import { refusal } from '../../support/refusal.js';
import { makeTempDir } from '../../support/temp-dir.js';

const temps: { remove: () => void }[] = [];
function tempDir(): string {
  const temp = makeTempDir('ssh-keys');
  temps.push(temp);
  return temp.path;
}
afterEach(() => {
  for (const temp of temps.splice(0)) temp.remove();
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe('ensureSshKeyPair', () => {
  it('makes an Ed25519 pair on first use: private key 0600 in a 0700 directory, OpenSSH format, and the authorized_keys line', () => {
    const root = tempDir();
    const file = join(root, 'data', 'ssh', 'warehouse_ed25519');
    const pair = ensureSshKeyPair(file, 'warehouse');
    expect(pair.created).toBe(true);
    expect(pair.publicKeyLine).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* gatehouse-warehouse$/);
    expect(mode(file)).toBe(0o600);
    expect(mode(join(root, 'data', 'ssh'))).toBe(0o700);
    // Directories above it keep the usual mode: an embedded PostgreSQL may need to traverse data_dir.
    mkdirSync(join(root, 'reference'));
    expect(mode(join(root, 'data'))).toBe(mode(join(root, 'reference')));
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    const parsed = utils.parseKey(text);
    expect(parsed).not.toBeInstanceOf(Error);
    expect(readFileSync(`${file}.pub`, 'utf8')).toBe(`${pair.publicKeyLine}\n`);
  });

  it('keeps an existing key and prints the same line again', () => {
    const file = join(tempDir(), 'db_ed25519');
    const first = ensureSshKeyPair(file, 'db');
    const again = ensureSshKeyPair(file, 'db');
    expect(again).toEqual({ ...first, created: false });
  });

  it('reads a key the administrator made with another tool and type', () => {
    const file = join(tempDir(), 'bastion_key');
    const ecdsa = utils.generateKeyPairSync('ecdsa', { bits: 256 });
    writeFileSync(file, ecdsa.private, { mode: 0o600 });
    expect(ensureSshKeyPair(file, 'db').publicKeyLine).toMatch(/^ecdsa-sha2-nistp256 AAAAE2VjZHNh[A-Za-z0-9+/=]+ gatehouse-db$/);
  });

  it('makes the key in an existing directory without changing its mode', () => {
    const dir = join(tempDir(), 'keys');
    mkdirSync(dir, { mode: 0o750 });
    chmodSync(dir, 0o750);
    ensureSshKeyPair(join(dir, 'k'), 'db');
    expect(mode(dir)).toBe(0o750);
  });
});

describe('readSshPrivateKey refusals', () => {
  it('a missing key says which command makes it', async () => {
    const file = join(tempDir(), 'missing_ed25519');
    const error = await refusal(Promise.resolve().then(() => readSshPrivateKey(file, 'warehouse')));
    expect(error.code).toBe('GH_ERR_SSH_AUTH');
    expect(error.sqlState).toBe('08001');
    expect(error.message).toBe(`Gatehouse's SSH key for the bastion of database "warehouse" does not exist yet (${file})`);
    expect(error.hint).toContain('gatehouse ssh-key show warehouse');
    expect(existsSync(file)).toBe(false);
  });

  it('a key others can read is refused with the chmod that fixes it', async () => {
    const file = join(tempDir(), 'open_ed25519');
    ensureSshKeyPair(file, 'db');
    chmodSync(file, 0o644);
    const error = await refusal(Promise.resolve().then(() => readSshPrivateKey(file, 'db')));
    expect(error.message).toContain('has mode 0644');
    expect(error.message).toContain(`chmod 600 ${file}`);
  });

  it('a key with a passphrase is refused: the daemon cannot type it', async () => {
    const file = join(tempDir(), 'encrypted');
    const encrypted = utils.generateKeyPairSync('ed25519', { passphrase: 'secret', cipher: 'aes256-ctr', rounds: 2 });
    writeFileSync(file, encrypted.private, { mode: 0o600 });
    const error = await refusal(Promise.resolve().then(() => readSshPrivateKey(file, 'db')));
    expect(error.message).toContain('it is encrypted with a passphrase, which Gatehouse cannot type');
    expect(error.hint).toContain('gatehouse ssh-key show db');
  });

  it('a file that is no key is refused', async () => {
    const file = join(tempDir(), 'garbage');
    writeFileSync(file, 'not a key\n', { mode: 0o600 });
    const error = await refusal(Promise.resolve().then(() => readSshPrivateKey(file, 'db')));
    expect(error.message).toMatch(/it is not a private key ssh2 can read/);
  });
});
