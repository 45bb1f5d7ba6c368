import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  managedSectionNames,
  parseServiceFile,
  readServiceFile,
  removeManagedSection,
  sectionOwner,
  serializeServiceFile,
  serviceFilePath,
  upsertManagedSection,
  writeServiceFile,
} from '../../../src/dbctl/pg-service-file.js';
import { DbctlError } from '../../../src/dbctl/dbctl-error.js';
import { makeTempDir } from '../../support/temp-dir.js';

const PROXY = 'gatehouse.example.com:3080';
const SETTINGS = [
  ['host', 'gatehouse.example.com'],
  ['port', '5432'],
  ['user', 'app_reader'],
  ['sslkey', '/home/alice/My Files/.dbctl/client.key'],
] as const;

const FOREIGN = `# my own services; do not lose this comment
[warehouse]
host=warehouse.internal
# the reporting login
user=reporter

[legacy]
host = legacy.internal   
port=5433
`;

describe('pg service file', () => {
  it('reads and writes a file byte for byte', () => {
    for (const text of [FOREIGN, '', '\n', '# only a comment\n', '[a]\nhost=x\n[b]\n', 'host=outside\n[a]\r\nport=1\r\n']) {
      expect(serializeServiceFile(parseServiceFile(text))).toBe(text === '\n' ? '\n' : text);
    }
  });

  it('adds a dbctl section after the others and keeps every foreign line', () => {
    const { file } = upsertManagedSection(parseServiceFile(FOREIGN), 'local', PROXY, SETTINGS);
    const text = serializeServiceFile(file);
    expect(text.startsWith(FOREIGN)).toBe(true);
    expect(text.slice(FOREIGN.length)).toBe(
      [
        '',
        '[local]',
        `# dbctl: ${PROXY}`,
        '# written by "dbctl login local"; "dbctl logout local" removes it',
        'host=gatehouse.example.com',
        'port=5432',
        'user=app_reader',
        'sslkey=/home/alice/My Files/.dbctl/client.key',
        '',
      ].join('\n'),
    );
    expect(sectionOwner(parseServiceFile(text).sections[2]!)).toBe(PROXY);
    expect(sectionOwner(parseServiceFile(text).sections[0]!)).toBeUndefined();
  });

  it('gives back the original file when the section it added is removed', () => {
    for (const original of [FOREIGN, '', '# comment only\n', '[a]\nhost=x\n', '[a]']) {
      const added = upsertManagedSection(parseServiceFile(original), 'local', PROXY, SETTINGS).file;
      const { file, removed } = removeManagedSection(added, 'local', PROXY);
      expect(removed).toBe(true);
      expect(serializeServiceFile(file)).toBe(serializeServiceFile(parseServiceFile(original)));
    }
  });

  it('trims only blank lines at the very end of the file when the last section goes', () => {
    const added = upsertManagedSection(parseServiceFile('[a]\nhost=x\n\n\n'), 'local', PROXY, SETTINGS).file;
    expect(serializeServiceFile(removeManagedSection(added, 'local', PROXY).file)).toBe('[a]\nhost=x\n');
  });

  it('removes a dbctl section in the middle and keeps the sections around it', () => {
    let file = upsertManagedSection(parseServiceFile(FOREIGN), 'local', PROXY, SETTINGS).file;
    const text = `${serializeServiceFile(file)}\n[after]\nhost=after.internal\n`;
    file = removeManagedSection(parseServiceFile(text), 'local', PROXY).file;
    expect(serializeServiceFile(file)).toBe(`${FOREIGN}\n[after]\nhost=after.internal\n`);
  });

  it('replaces its own section in place, keeping the blank lines after it', () => {
    const first = upsertManagedSection(parseServiceFile(FOREIGN), 'local', PROXY, SETTINGS).file;
    const withNext = parseServiceFile(`${serializeServiceFile(first)}\n[zz]\nhost=z\n`);
    const { file, replacedOwner } = upsertManagedSection(withNext, 'local', PROXY, [['host', 'other']]);
    expect(replacedOwner).toBeUndefined();
    const text = serializeServiceFile(file);
    expect(text).toContain(`[local]\n# dbctl: ${PROXY}\n# written by "dbctl login local"; "dbctl logout local" removes it\nhost=other\n\n[zz]\nhost=z\n`);
    expect(text.startsWith(FOREIGN)).toBe(true);
  });

  it('says which proxy a replaced dbctl section pointed at', () => {
    const first = upsertManagedSection(parseServiceFile(''), 'local', 'old:3080', SETTINGS).file;
    expect(upsertManagedSection(first, 'local', PROXY, SETTINGS).replacedOwner).toBe('old:3080');
  });

  it('refuses to overwrite a section dbctl did not write', () => {
    const attempt = () => upsertManagedSection(parseServiceFile(FOREIGN), 'warehouse', PROXY, SETTINGS, '/home/alice/.pg_service.conf');
    expect(attempt).toThrow(DbctlError);
    expect(attempt).toThrow('/home/alice/.pg_service.conf already has a section [warehouse] that dbctl did not write; dbctl leaves it alone');
  });

  it('never removes a section it did not write, or one written for another proxy', () => {
    const file = upsertManagedSection(parseServiceFile(FOREIGN), 'local', 'other:3080', SETTINGS).file;
    expect(removeManagedSection(file, 'warehouse', PROXY).removed).toBe(false);
    expect(removeManagedSection(file, 'local', PROXY).removed).toBe(false);
    expect(managedSectionNames(file, 'other:3080')).toEqual(['local']);
    expect(managedSectionNames(file, PROXY)).toEqual([]);
  });

  it('refuses values libpq would not read back as written', () => {
    for (const value of ['two\nlines', ' leading', 'trailing ', '']) {
      expect(() => upsertManagedSection(parseServiceFile(''), 'local', PROXY, [['sslkey', value]])).toThrow(/libpq would not read it back/);
    }
  });

  it('finds the file where libpq does', () => {
    expect(serviceFilePath({ PGSERVICEFILE: '/etc/custom.conf', HOME: '/home/a' })).toBe('/etc/custom.conf');
    expect(serviceFilePath({ HOME: '/home/a' })).toBe('/home/a/.pg_service.conf');
  });
});

describe('writing the service file', () => {
  it('keeps its mode, writes through a symlink, and leaves no temporary file behind', () => {
    const temp = makeTempDir('svc');
    try {
      const real = join(temp.path, 'dotfiles', 'pg_service.conf');
      mkdirSync(join(temp.path, 'dotfiles'));
      writeFileSync(real, FOREIGN, { mode: 0o600 });
      chmodSync(real, 0o600);
      const link = join(temp.path, '.pg_service.conf');
      symlinkSync(real, link);
      writeServiceFile(link, upsertManagedSection(readServiceFile(link), 'local', PROXY, SETTINGS).file);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readFileSync(real, 'utf8').startsWith(`${FOREIGN}\n[local]\n`)).toBe(true);
      expect(statSync(real).mode & 0o777).toBe(0o600);
      expect(readdirSync(join(temp.path, 'dotfiles'))).toEqual(['pg_service.conf']);
    } finally {
      temp.remove();
    }
  });

  it('reads a missing file as empty and creates it 0644', () => {
    const temp = makeTempDir('svc');
    try {
      const path = join(temp.path, 'sub', 'services.conf');
      expect(readServiceFile(path)).toEqual({ preamble: [], sections: [] });
      writeServiceFile(path, upsertManagedSection(readServiceFile(path), 'local', PROXY, SETTINGS).file);
      expect(statSync(path).mode & 0o777).toBe(0o644);
      expect(readFileSync(path, 'utf8').startsWith('[local]\n# dbctl: ')).toBe(true);
    } finally {
      temp.remove();
    }
  });
});
