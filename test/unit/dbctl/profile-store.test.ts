import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/ca/certificate-authority.js';
import { DbctlError } from '../../../src/dbctl/dbctl-error.js';
import { ProfileStore, type Profile } from '../../../src/dbctl/profile-store.js';
import { makeTempDir } from '../../support/temp-dir.js';

const PROFILE: Profile = {
  proxy: 'gatehouse.example.com:3080',
  postgres_addr: 'gatehouse.example.com:5432',
  user: 'alice',
  roles: ['access'],
  ca_fingerprint: 'sha256:00',
  insecure: false,
};

let ca: CertificateAuthority;
let identity: { certPem: string; keyPem: string };
let database: { certPem: string; keyPem: string };
const temps: Array<{ remove: () => void }> = [];

beforeAll(() => {
  ca = CertificateAuthority.create('test user CA');
  const issuedIdentity = ca.issueClientCertificate({ user: 'alice', ttlMs: 3600_000 });
  identity = { certPem: issuedIdentity.certPem, keyPem: issuedIdentity.keyPem! };
  const issuedDatabase = ca.issueClientCertificate({ user: 'alice', route: { database: 'local', dbUser: 'app_reader' }, ttlMs: 1800_000 });
  database = { certPem: issuedDatabase.certPem, keyPem: issuedDatabase.keyPem! };
});

afterEach(() => {
  for (const temp of temps.splice(0)) temp.remove();
});

function newStore(): ProfileStore {
  const temp = makeTempDir('dbctl');
  temps.push(temp);
  return new ProfileStore(join(temp.path, 'dbctl-home'));
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('profile store', () => {
  it('names a profile after its proxy, safely', () => {
    expect(ProfileStore.profileName({ host: 'gatehouse.example.com', port: 3080 })).toBe('gatehouse.example.com_3080');
    expect(ProfileStore.profileName({ host: '::1', port: 3080 })).toBe('__1_3080');
  });

  it('writes directories 0700, keys 0600, and reads the profile back', () => {
    const store = newStore();
    const stored = store.saveProfile('gh_3080', PROFILE, ca.certPem, identity);
    store.setCurrent('gh_3080');
    const dir = store.profileDir('gh_3080');
    expect(mode(store.home)).toBe(0o700);
    expect(mode(join(store.home, 'profiles'))).toBe(0o700);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'identity.key'))).toBe(0o600);
    expect(mode(join(dir, 'identity.crt'))).toBe(0o600);
    expect(mode(join(dir, 'profile.json'))).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['ca.pem', 'identity.crt', 'identity.key', 'profile.json']);
    expect(stored.profile).toEqual(PROFILE);
    expect(stored.caPem).toBe(ca.certPem);
    expect(stored.identity.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(store.currentName()).toBe('gh_3080');
    expect(store.loadProfile('gh_3080')).toEqual(stored);
  });

  it('keeps database certificates per database, keys 0600', () => {
    const store = newStore();
    store.saveProfile('gh_3080', PROFILE, ca.certPem, identity);
    const login = store.saveDatabase('gh_3080', { database: 'local', db_user: 'app_reader' }, database);
    expect(mode(login.dir)).toBe(0o700);
    expect(mode(login.keyPath)).toBe(0o600);
    expect(JSON.parse(readFileSync(join(login.dir, 'route.json'), 'utf8'))).toEqual({ database: 'local', db_user: 'app_reader' });
    expect(store.listDatabases('gh_3080').map((item) => item.route.database)).toEqual(['local']);
    expect(store.removeDatabase('gh_3080', 'local')).toBe(true);
    expect(store.removeDatabase('gh_3080', 'local')).toBe(false);
    expect(store.listDatabases('gh_3080')).toEqual([]);
  });

  it('narrows a key file that was left readable before replacing it', () => {
    const store = newStore();
    store.saveProfile('gh_3080', PROFILE, ca.certPem, identity);
    const keyPath = join(store.profileDir('gh_3080'), 'identity.key');
    chmodSync(keyPath, 0o644);
    store.saveProfile('gh_3080', PROFILE, ca.certPem, identity);
    expect(mode(keyPath)).toBe(0o600);
  });

  it('refuses a key others can read, saying how to fix it', () => {
    const store = newStore();
    store.saveProfile('gh_3080', PROFILE, ca.certPem, identity);
    const keyPath = join(store.profileDir('gh_3080'), 'identity.key');
    chmodSync(keyPath, 0o640);
    expect(() => store.loadProfile('gh_3080')).toThrow(`private key file ${keyPath} has mode 0640, so users other than its owner can access it; fix it with: chmod 600`);
  });

  it('removes a profile and forgets it as the current one', () => {
    const store = newStore();
    store.saveProfile('gh_3080', PROFILE, ca.certPem, identity);
    store.saveDatabase('gh_3080', { database: 'local' }, database);
    store.setCurrent('gh_3080');
    store.removeProfile('gh_3080');
    expect(existsSync(store.profileDir('gh_3080'))).toBe(false);
    expect(existsSync(join(store.home, 'current'))).toBe(false);
    expect(store.currentName()).toBeUndefined();
  });

  it('says a damaged profile is damaged and how to recover', () => {
    const store = newStore();
    store.saveProfile('gh_3080', PROFILE, ca.certPem, identity);
    writeFileSync(join(store.profileDir('gh_3080'), 'profile.json'), '{"proxy": 1}');
    expect(() => store.loadProfile('gh_3080')).toThrow(DbctlError);
    expect(() => store.loadProfile('gh_3080')).toThrow("dbctl's files for profile gh_3080 are damaged");
    expect(store.peekProfile('gh_3080')).toBeUndefined();
  });

  it('refuses a database name that could escape its directory', () => {
    const store = newStore();
    mkdirSync(store.home, { recursive: true });
    for (const name of ['../evil', 'a/b', '', 'UPPER', '.hidden']) {
      expect(() => store.saveDatabase('gh_3080', { database: name }, database)).toThrow('is not a Gatehouse database name');
    }
  });
});
