import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DbctlError } from '../../../src/dbctl/dbctl-error.js';
import { locatePsql } from '../../../src/dbctl/psql-locator.js';
import { makeTempDir } from '../../support/temp-dir.js';

const temps: Array<{ remove: () => void }> = [];
afterEach(() => {
  for (const temp of temps.splice(0)) temp.remove();
});

function tree(files: Record<string, number>): string {
  const temp = makeTempDir('psql');
  temps.push(temp);
  for (const [path, mode] of Object.entries(files)) {
    const full = join(temp.path, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, '#!/bin/sh\n');
    chmodSync(full, mode);
  }
  return temp.path;
}

describe('finding psql', () => {
  it('takes the first executable psql on PATH', () => {
    const root = tree({ 'a/psql': 0o644, 'b/psql': 0o755, 'c/psql': 0o755 });
    expect(locatePsql({ path: [join(root, 'a'), join(root, 'b'), join(root, 'c')].join(':'), versionedRoot: join(root, 'none') })).toBe(join(root, 'b/psql'));
  });

  it('falls back to the newest /usr/lib/postgresql/<version>/bin/psql', () => {
    const root = tree({ '9.6/bin/psql': 0o755, '15/bin/psql': 0o755, '16/bin/psql': 0o755, '17/bin/other': 0o755 });
    expect(locatePsql({ path: '', versionedRoot: root })).toBe(join(root, '16/bin/psql'));
  });

  it('uses --psql when it is an executable file, and refuses it otherwise', () => {
    const root = tree({ 'my/psql': 0o755, 'my/notexec': 0o644 });
    expect(locatePsql({ override: join(root, 'my/psql'), path: '' })).toBe(join(root, 'my/psql'));
    expect(() => locatePsql({ override: join(root, 'my/notexec'), path: '' })).toThrow(`--psql ${join(root, 'my/notexec')}: no executable file there`);
  });

  it('says how to install psql when there is none', () => {
    const root = tree({});
    try {
      locatePsql({ path: join(root, 'bin'), versionedRoot: join(root, 'pg') });
      throw new Error('psql was found');
    } catch (error) {
      expect(error).toBeInstanceOf(DbctlError);
      expect((error as DbctlError).message).toBe(`psql was not found on PATH or in ${join(root, 'pg')}/*/bin`);
      expect((error as DbctlError).hint).toContain('apt-get install postgresql-client');
      expect((error as DbctlError).hint).toContain('--psql');
    }
  });
});
