import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTHORITY_FILES } from '../../../src/ca/authority-store.js';
import { registerCaInitCommand } from '../../../src/cli/ca-init.js';
import { runCommand, writeConfig } from './cli-harness.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-ca-init-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('gatehouse ca init', () => {
  it('creates the CA files, then says everything exists', async () => {
    const config = writeConfig(root);
    const caDir = join(root, 'certs');
    const first = await runCommand(registerCaInitCommand, ['ca', 'init', '--config', config]);
    expect(first.exitCode).toBeUndefined();
    expect(first.stderr).toBe('');
    for (const name of Object.values(AUTHORITY_FILES)) {
      expect(first.stdout).toContain(`created ${join(caDir, name)}\n`);
      expect(existsSync(join(caDir, name))).toBe(true);
    }
    expect(statSync(join(caDir, AUTHORITY_FILES.userCaKey)).mode & 0o777).toBe(0o600);

    const second = await runCommand(registerCaInitCommand, ['ca', 'init', '--config', config]);
    expect(second).toEqual({ stdout: `Everything already exists in ${caDir}; nothing to do.\n`, stderr: '', exitCode: undefined });
  });

  it('reports an invalid config on stderr with exit code 1', async () => {
    const config = join(root, 'broken.yaml');
    writeFileSync(config, 'version: v1\nproxy: { nonsense: 1 }\n');
    const result = await runCommand(registerCaInitCommand, ['ca', 'init', '--config', config]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/broken\.yaml:2:\d+: /);
    expect(existsSync(join(root, 'certs'))).toBe(false);
  });

  it('reports a missing config file', async () => {
    const result = await runCommand(registerCaInitCommand, ['ca', 'init', '--config', join(root, 'nope.yaml')]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/cannot read the config file/);
  });
});
