// vitest globalSetup: the secret scan over a whole test run (issue 7, "every secret used by the tests
// is searched for in every log the tests produced and must not appear").
// Setup makes the run directory and hands it to the workers through GATEHOUSE_TEST_RUN_DIR; test
// support code writes Gatehouse's logs and audit lines there and registers the secrets it knows
// (test/support/secret-ledger.ts). Teardown scans everything and fails the run on a leak: vitest
// only prints an error thrown from a global teardown, so the exit code is set here as well.
// A clean run's directory is removed; a leaking run's is kept for the investigation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_DIR_ENV } from './secret-ledger.js';
import { describeLeaks, scanRunDir } from './secret-scan.js';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-run-'));
  process.env[RUN_DIR_ENV] = dir;
  return () => {
    const result = scanRunDir(dir);
    if (result.leaks.length === 0) {
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    process.exitCode = 1;
    const message =
      `secret scan: ${result.leaks.length} secret(s) found in the logs the tests produced ` +
      `(${result.files} log files, ${result.secrets} registered secrets; kept in ${dir}):\n${describeLeaks(result.leaks)}`;
    console.error(message);
    throw new Error(message);
  };
}
