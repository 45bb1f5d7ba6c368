// `gatehouse config check` (src/cli/config-check.ts), driven through a real commander program.
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerConfigCheckCommand } from '../../../src/cli/config-check.js';

async function run(...args: string[]): Promise<{ out: string; err: string; exitCode: typeof process.exitCode }> {
  let out = '';
  let err = '';
  const program = new Command('gatehouse').exitOverride();
  program.configureOutput({ writeOut: (text) => void (out += text), writeErr: (text) => void (err += text) });
  registerConfigCheckCommand(program);
  await program.parseAsync(['config', 'check', ...args], { from: 'user' });
  return { out, err, exitCode: process.exitCode };
}

describe('gatehouse config check', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('says a valid file is valid and counts what it defines', async () => {
    expect(await run('--config', 'test/fixtures/config/example.yaml')).toEqual({
      out: 'test/fixtures/config/example.yaml is valid: 1 database, 1 role, 1 user\n',
      err: '',
      exitCode: undefined,
    });
    expect((await run('--config', 'test/fixtures/config/two-of-each.yaml')).out).toBe(
      'test/fixtures/config/two-of-each.yaml is valid: 2 databases, 2 roles, 1 user\n',
    );
  });

  it('prints every problem to stderr and sets the exit code', async () => {
    expect(await run('--config', 'test/fixtures/config/invalid.yaml')).toEqual({
      out: '',
      err: [
        'test/fixtures/config/invalid.yaml:3:25: proxy.postgres_listen_addr: "0.0.0.0:99999" is not a valid host:port (port must be 0-65535)',
        'test/fixtures/config/invalid.yaml:7:5: databases[0].uri: must not be set because databases[0].kind is embedded: Gatehouse starts that database and knows its address',
        'test/fixtures/config/invalid.yaml:13:13: users[0].roles[0]: role "acess" is not defined in roles (defined: access)',
        'test/fixtures/config/invalid.yaml is not valid: 3 problems',
        '',
      ].join('\n'),
      exitCode: 1,
    });
  });

  it('reports a file that is not there', async () => {
    const result = await run('--config', 'test/fixtures/config/absent.yaml');
    expect(result.exitCode).toBe(1);
    expect(result.err).toMatch(/^test\/fixtures\/config\/absent\.yaml: cannot read the config file: \/.*\/test\/fixtures\/config\/absent\.yaml does not exist\n/);
  });

  it('reads config/gatehouse.yaml when no --config is given', async () => {
    const result = await run();
    expect(result.out + result.err).toMatch(/^config\/gatehouse\.yaml/);
  });

  it('joins an existing config command instead of adding a second one', () => {
    const program = new Command('gatehouse');
    program.command('config').command('show');
    registerConfigCheckCommand(program);
    expect(program.commands.filter((command) => command.name() === 'config')).toHaveLength(1);
    expect(program.commands[0]?.commands.map((command) => command.name())).toEqual(['show', 'check']);
  });
});
