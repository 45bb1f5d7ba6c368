// The per-run ledger of the secret scan: test support code that starts Gatehouse writes every log
// and audit line it produces into files under one directory per test run, and records there every
// secret it knows (database passwords, minted Redshift passwords, private keys, TOTP seeds, AWS
// keys). After the run, test/support/secret-scan-global.ts searches every log for every secret and
// fails the run when one appears (issue 7, "Security checks that run in CI").
//
// The directory comes from GATEHOUSE_TEST_RUN_DIR, which the vitest globalSetup sets for the workers.
// Without it (the benchmark, a script importing test support) everything here does nothing.
// Appends are synchronous so that nothing is lost when a worker ends; the ledger files are 0600.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const RUN_DIR_ENV = 'GATEHOUSE_TEST_RUN_DIR';

export type SecretKind = 'password' | 'minted-password' | 'private-key' | 'totp-seed' | 'aws-secret-key' | 'token';

export interface RegisteredSecret {
  readonly kind: SecretKind;
  /** What it is, for the report ("superuser password of a test PostgreSQL"); never the value. */
  readonly label: string;
  readonly value: string;
}

/** Shorter values are too likely to occur by chance in a log to be searched for. */
export const MIN_SECRET_LENGTH = 8;

function runDir(): string | undefined {
  const dir = process.env[RUN_DIR_ENV];
  return dir === undefined || dir === '' ? undefined : dir;
}

/** Records a secret the tests use, so the end-of-run scan looks for it in every log. */
export function registerSecret(kind: SecretKind, label: string, value: string | undefined): void {
  const dir = runDir();
  if (dir === undefined || value === undefined || value.length < MIN_SECRET_LENGTH) return;
  const secrets = join(dir, 'secrets');
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  const record: RegisteredSecret = { kind, label, value };
  appendFileSync(join(secrets, `${process.pid}.jsonl`), `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

let logFiles = 0;

/**
 * A log file of this run for `label` (e.g. "gatehouse-log", "gatehouse-audit"); write with
 * appendLog. Returns undefined when no run directory is set.
 */
export function runLogFile(label: string): string | undefined {
  const dir = runDir();
  if (dir === undefined) return undefined;
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  return join(logs, `${label.replace(/[^A-Za-z0-9_.-]/g, '_')}-${process.pid}-${logFiles++}.log`);
}

export function appendLog(file: string | undefined, text: string): void {
  if (file !== undefined) appendFileSync(file, text, { mode: 0o600 });
}
