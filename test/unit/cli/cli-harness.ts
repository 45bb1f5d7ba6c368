// Runs one gatehouse command in-process, capturing what it prints and the exit code it sets, and
// writes throwaway configs whose every path is inside a temporary directory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

export async function runCommand(register: (program: Command) => void, argv: string[]): Promise<CommandResult> {
  let stdout = '';
  let stderr = '';
  const program = new Command('gatehouse').exitOverride().configureOutput({
    writeOut: (text) => void (stdout += text),
    writeErr: (text) => void (stderr += text),
  });
  register(program);
  const previous = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    // exitOverride turns commander's own usage errors into exceptions; record them like the CLI would.
    if ((error as { code?: string }).code?.startsWith('commander.') !== true) throw error;
    process.exitCode = 1;
  }
  const exitCode = typeof process.exitCode === 'number' ? process.exitCode : undefined;
  process.exitCode = previous;
  return { stdout, stderr, exitCode };
}

/** A config with databases local (env dev) and prod (env prod), and alice, who may use dev databases for at most 8h. */
export function writeConfig(root: string, publicAddr = 'gatehouse.test'): string {
  const path = join(root, 'gatehouse.yaml');
  writeFileSync(
    path,
    `version: v1
proxy:
  postgres_listen_addr: 127.0.0.1:15432
  web_listen_addr: 127.0.0.1:13080
  public_addr: "${publicAddr}"
  data_dir: ${join(root, 'data')}
  ca_dir: ${join(root, 'certs')}
databases:
  - name: local
    description: development database
    protocol: postgres
    kind: postgres
    uri: 127.0.0.1:5433
    labels: { env: dev }
  - name: prod
    description: production database
    protocol: postgres
    kind: postgres
    uri: 127.0.0.1:5434
    labels: { env: prod }
roles:
  - name: access
    allow:
      db_labels: { env: [dev] }
      db_users: ["{{internal.db_users}}"]
      db_names: ["{{internal.db_names}}", postgres]
    options: { max_session_ttl: 8h }
users:
  - name: alice
    roles: [access]
    traits: { db_users: [app_reader], db_names: [app] }
`,
  );
  return path;
}
