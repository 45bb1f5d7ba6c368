// `npm run soak`: 1,000 concurrent sessions through a Gatehouse built from dist/ for several
// minutes, checking that nothing is lost (see soak/README.md). Prints the figures, writes them to
// soak/results/DATE.json, and exits 1 when a must-be-zero figure is not zero or Gatehouse's
// memory did not come back; 2 on a usage error.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, UsageError, type SoakOptions } from './options.js';
import { formatFigures, writeFiguresJson } from './report.js';
import { runSoak } from './soak.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

async function main(): Promise<number> {
  let options: SoakOptions;
  try {
    options = parseOptions(process.argv.slice(2), join(repoRoot, 'soak/results'));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message);
    return 2;
  }
  if (!existsSync(join(repoRoot, 'dist/cli/gatehouse.js'))) {
    console.error('dist/ is missing: run "npm run build" (npm run soak does it first)');
    return 2;
  }
  warnIfDistIsStale();
  log(`Gatehouse soak: ${options.sessions} sessions for ${options.durationMs / 1000} s, seed ${options.seed} (repeat with --seed ${options.seed})`);
  const { figures, keptDir } = await runSoak(options, log);
  console.log(`\n${formatFigures(figures)}`);
  if (options.resultsDir !== undefined) log(`figures written to ${writeFiguresJson(options.resultsDir, figures)}`);
  if (keptDir !== undefined) log(`the run's files are kept in ${keptDir}`);
  return figures.verdict.passed ? 0 : 1;
}

/** The soak measures dist/: say so when src/ is newer than the build. */
function warnIfDistIsStale(): void {
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const path = join(dir, entry.name);
      return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }, 0);
  if (newest(join(repoRoot, 'src')) > newest(join(repoRoot, 'dist'))) {
    log('warning: src/ has changed since the last build; the soak runs dist/ (npm run soak builds first)');
  }
}

// Ctrl+C: exit through process.exit so the 'exit' hooks stop PostgreSQL and Gatehouse.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
