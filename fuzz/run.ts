// `npm run fuzz [-- --seed N --cases N --concurrency N --from N --verbose]`: the network fuzzer
// (see fuzz/README.md). Prints the figures and exits 1 when a must-be-zero figure is not zero
// (crashes, connections left open, unexpected error log lines, fuzzer errors) or a normal session
// fails after the run; 2 for a usage error.
import { parseArgs } from 'node:util';
import { describe, mib, runFuzz, type FuzzReport } from './fuzzer.js';

const USAGE = 'usage: npm run fuzz -- [--seed N] [--cases N (100000)] [--concurrency N (16)] [--from N (0)] [--verbose]';

function integer(text: string | undefined, fallback: number, name: string, min: number): number {
  if (text === undefined) return fallback;
  if (!/^-?\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) throw new Error(`--${name} must be a whole number of at least ${min}, not ${JSON.stringify(text)}\n${USAGE}`);
  return Number(text);
}

function report(result: FuzzReport): string {
  const mark = (ok: boolean) => (ok ? 'ok' : 'FAIL');
  const leftover = result.connectionsAfter.clients + result.connectionsAfter.upstream + result.connectionsAfter.other;
  const lines = [
    '',
    `Gatehouse network fuzzer: seed ${result.seed}, cases ${result.from}..${result.from + result.cases - 1}, concurrency ${result.concurrency}, ${(result.durationMs / 1000).toFixed(0)} s`,
    '',
    '| kind | cases | closed by Gatehouse | quiet (client closed) | still busy at the limit | unreachable |',
    '|---|--:|--:|--:|--:|--:|',
    ...Object.entries(result.byKind).map(([kind, f]) => `| ${kind} | ${f.cases} | ${f.closedByGatehouse} | ${f.quiet} | ${f.busy} | ${f.unreachable} |`),
    '',
    `cases tried:                        ${Object.values(result.byKind).reduce((sum, f) => sum + f.cases, 0)}`,
    `post-login cases logged in:         ${result.logins.succeeded} (login did not finish: ${result.logins.failed})`,
    `crashes (daemon exits):             ${result.crashes.length}  ${mark(result.crashes.length === 0)}`,
    `unexpected error-level log lines:   ${result.unexpectedLogLines.length}  ${mark(result.unexpectedLogLines.length === 0)}`,
    `log lines by level:                 ${Object.entries(result.logLevels).map(([level, count]) => `${level}: ${count}`).join(', ') || 'none'}`,
    `connections open before the run:    ${describe(result.connectionsBefore)}`,
    `connections open after the run:     ${describe(result.connectionsAfter)}  ${mark(leftover === 0)}`,
    `RSS before / peak / after:          ${mib(result.rssBeforeBytes)} / ${mib(result.rssPeakBytes)} / ${mib(result.rssAfterBytes)}`,
    `audit: sessions started / ended:    ${result.audit.sessionsStarted} / ${result.audit.sessionsEnded} (refused: ${result.audit.sessionsRefused}, queries: ${result.audit.queries})`,
    `audit: sessions never ended:        ${result.audit.sessionsNotEnded}  ${mark(result.audit.sessionsNotEnded === 0)}`,
    `audit: queries after session end:   ${result.audit.queriesAfterEnd}  ${mark(result.audit.queriesAfterEnd === 0)}`,
    `audit: unreadable lines:            ${result.audit.unreadableLines}  ${mark(result.audit.unreadableLines === 0)}`,
    `fuzzer errors:                      ${result.harnessErrors.length}  ${mark(result.harnessErrors.length === 0)}`,
    `normal pg session after the run:    ${result.sessionAfterRun}  ${mark(result.sessionAfterRun === 'ok')}`,
  ];
  for (const crash of result.crashes) {
    const what = crash.exit.worker === undefined ? `exit code ${crash.exit.code} signal ${crash.exit.signal}` : `worker process ${crash.exit.worker} exited`;
    lines.push('', `crash with cases ${crash.casesInFlight.join(', ')} in flight (replay each with --seed ${result.seed} --from N --cases 1 --concurrency 1), ${what}; last stderr:`, ...crash.exit.lastLines.map((line) => `  ${line}`));
  }
  if (result.unexpectedLogLines.length > 0) lines.push('', 'unexpected log lines (first 20):', ...result.unexpectedLogLines.slice(0, 20).map((line) => `  ${line}`));
  if (result.warnings.length > 0) lines.push('', 'warnings (not failures; first 5):', ...result.warnings.slice(0, 5).map((line) => `  ${line}`));
  if (result.harnessErrors.length > 0) lines.push('', 'fuzzer errors (first 10):', ...result.harnessErrors.slice(0, 10).map((line) => `  ${line}`));
  lines.push('', result.passed ? 'PASSED' : 'FAILED', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  let options;
  try {
    const { values } = parseArgs({
      options: {
        seed: { type: 'string' },
        cases: { type: 'string' },
        concurrency: { type: 'string' },
        from: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    options = {
      seed: integer(values.seed, Math.floor(Math.random() * 2 ** 31), 'seed', 0),
      cases: integer(values.cases, 100_000, 'cases', 1),
      concurrency: integer(values.concurrency, 16, 'concurrency', 1),
      from: integer(values.from, 0, 'from', 0),
      verbose: values.verbose,
    };
  } catch (error) {
    console.error((error as Error).message.includes('usage:') ? (error as Error).message : `${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const started = Date.now();
  const log = (line: string) => console.log(`${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s  ${line}`);
  // Ctrl+C: finish the cases in flight, stop Gatehouse and PostgreSQL, and report what was tried.
  const interrupt = new AbortController();
  process.once('SIGINT', () => {
    log('interrupted: finishing the cases in flight');
    interrupt.abort();
  });
  const result = await runFuzz({ ...options, log, signal: interrupt.signal });
  console.log(report(result));
  process.exitCode = result.passed ? 0 : 1;
}

await main();
