// `gatehouse ssh-key show DB` in-process: the line on stdout (and nothing else there), the notes on
// stderr, the key at the configured or default path, and the refusals.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerSshKeyCommand } from '../../../src/cli/ssh-key.js';
import { runCommand } from './cli-harness.js';

let root: string;
let config: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-key-'));
  config = join(root, 'gatehouse.yaml');
  writeFileSync(
    config,
    `version: v1
proxy: { data_dir: ${join(root, 'data')} }
databases:
  - name: warehouse
    uri: db.internal:5432
    ssh_tunnel: { host: bastion.example.com, user: gatehouse, known_hosts_file: ${join(root, 'known_hosts')} }
  - name: reporting
    uri: reporting.internal:5432
    ssh_tunnel: { host: bastion.example.com, user: gatehouse, known_hosts_file: ${join(root, 'known_hosts')}, private_key_file: ${join(root, 'keys', 'bastion')} }
  - name: direct
    uri: direct.internal:5432
`,
  );
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const show = (...args: string[]) => runCommand(registerSshKeyCommand, ['ssh-key', 'show', ...args, '--config', config]);

describe('gatehouse ssh-key show', () => {
  it('makes the key pair under data_dir on first use and prints only the authorized_keys line', async () => {
    const first = await show('warehouse');
    const keyFile = join(root, 'data', 'ssh', 'warehouse_ed25519');
    expect(first.exitCode).toBeUndefined();
    expect(first.stdout).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* gatehouse-warehouse\n$/);
    expect(first.stderr).toBe(
      `created ${keyFile} (mode 0600) and ${keyFile}.pub\nAdd that line to ~gatehouse/.ssh/authorized_keys on bastion.example.com; Gatehouse logs in there as gatehouse with this key.\n`,
    );
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${keyFile}.pub`, 'utf8')).toBe(first.stdout);

    const again = await show('warehouse');
    expect(again.stdout).toBe(first.stdout);
    expect(again.stderr).not.toContain('created');
  });

  it('uses ssh_tunnel.private_key_file when it is set', async () => {
    const result = await show('reporting');
    expect(result.stdout).toMatch(/ gatehouse-reporting\n$/);
    expect(existsSync(join(root, 'keys', 'bastion'))).toBe(true);
    expect(existsSync(join(root, 'data', 'ssh', 'reporting_ed25519'))).toBe(false);
  });

  it('refuses a database that is not in the config, listing those that are', async () => {
    const result = await show('nosuch');
    expect(result).toMatchObject({ exitCode: 1, stdout: '' });
    expect(result.stderr).toBe(`database "nosuch" is not in ${config}\nhint: Databases there: warehouse, reporting, direct.\n`);
  });

  it('refuses a database without ssh_tunnel, and makes no key', async () => {
    const result = await show('direct');
    expect(result).toMatchObject({ exitCode: 1, stdout: '' });
    expect(result.stderr).toBe(
      `database "direct" has no ssh_tunnel in ${config}, so Gatehouse needs no SSH key for it\nhint: Give it ssh_tunnel: { host, user, known_hosts_file } first (see docs/ssh-bastion.md).\n`,
    );
    expect(existsSync(join(root, 'data', 'ssh'))).toBe(false);
  });

  it('refuses a config that does not load', async () => {
    writeFileSync(config, 'version: v2\n');
    const result = await show('warehouse');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('version: must be v1, not "v2"');
  });
});
