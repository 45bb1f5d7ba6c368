// Writes a run's results to bench/results/: DATE.json (everything, per round), DATE.md (the
// tables) and DATE.svg (the ratio chart). A complete full run also refreshes latest.json,
// latest.md and latest.svg, which the README links; quick and partial runs never replace them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ratioChart } from './chart.js';
import { TARGET_ORDER, type TargetName } from './load.js';
import { machineLine, type MachineInfo } from './machine.js';
import type { FigureSummary, MemorySummary, Verdict } from './results.js';
import { formatBytes, formatNumber, formatSignificant } from './stats.js';

export interface BenchReport {
  readonly date: string;
  readonly label?: string;
  readonly quick: boolean;
  readonly only: readonly string[];
  readonly rounds: number;
  readonly durationS: number;
  readonly pgbenchScale: number;
  readonly elapsedS: number;
  readonly machine: MachineInfo;
  readonly versions: Readonly<Record<string, string | undefined>>;
  readonly targets: Readonly<Partial<Record<TargetName, string>>>;
  readonly figures: readonly FigureSummary[];
  readonly memory?: MemorySummary;
  readonly notes: readonly string[];
}

export const RESULTS_DIR = fileURLToPath(new URL('results/', import.meta.url));

/** Writes the files and returns the Markdown (run.ts prints it). */
export function writeReport(report: BenchReport): { markdown: string; files: string[] } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = report.date.replace(/:/g, '').replace(/\..*$/, '').replace('T', '-');
  const suffix = report.quick ? '-quick' : report.only.length > 0 ? '-partial' : '';
  const base = `${stamp}${suffix}`;
  const svg = ratioChart(report.figures, subtitle(report));
  const files: string[] = [];
  const write = (name: string, content: string) => {
    writeFileSync(join(RESULTS_DIR, name), content);
    files.push(join('bench/results', name));
  };
  write(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  write(`${base}.svg`, svg);
  write(`${base}.md`, markdown(report, `${base}.svg`));
  if (suffix === '') {
    write('latest.json', `${JSON.stringify(report, null, 2)}\n`);
    write('latest.svg', svg);
    write('latest.md', markdown(report, 'latest.svg'));
  }
  return { markdown: markdown(report, `${base}.svg`), files };
}

function subtitle(report: BenchReport): string[] {
  const rounds = `${report.rounds} interleaved round${report.rounds === 1 ? '' : 's'}, medians`;
  return [`${report.date.slice(0, 16).replace('T', ' ')} UTC${report.quick ? ' (quick run)' : ''}, ${rounds}${report.label === undefined ? '' : `: ${report.label}`}`, machineLine(report.machine)];
}

export function markdown(report: BenchReport, chartFile: string): string {
  const present = TARGET_ORDER.filter((name) => report.targets[name] !== undefined);
  const proxies = present.filter((name) => name !== 'direct');
  const load = `${report.machine.loadAverageAtStart.join(' ')} → ${report.machine.loadAverageAtEnd?.join(' ') ?? '?'}`;
  const lines: string[] = [
    `### Gatehouse benchmark, ${report.date.slice(0, 16).replace('T', ' ')} UTC${report.quick ? ' (quick)' : ''}${report.label === undefined ? '' : `: ${report.label}`}`,
    '',
    `Machine: ${machineLine(report.machine)}; load average ${load}.  `,
    `Versions: ${Object.entries(report.versions).filter(([, value]) => value !== undefined).map(([name, value]) => `${name} ${value}`).join(', ')}.  `,
    `${report.rounds} interleaved round${report.rounds === 1 ? '' : 's'}, ${report.durationS} s per pgbench run, pgbench scale ${report.pgbenchScale}; all on loopback with TLS on every hop; figures are medians over rounds, ratios are medians of per-round ratios. Run took ${Math.round(report.elapsedS)} s.`,
    '',
  ];
  if (report.figures.length > 0) {
    lines.push(
      `| figure | ${present.map((name) => report.targets[name]).join(' | ')} | ${proxies.map((name) => `${report.targets[name]} ÷ direct`).join(' | ')} | Gatehouse target | met? |`,
      `|---|${present.map(() => '--:').join('|')}|${proxies.map(() => '--:').join('|')}|---|---|`,
    );
    for (const figure of report.figures) {
      const unit = figure.better === 'lower' ? `${figure.unit}, lower is better` : figure.unit;
      const cells = present.map((name) => formatSignificant(figure.median[name]));
      const ratios = proxies.map((name) => formatNumber(figure.ratioToDirect[name], 2));
      lines.push(`| ${figure.title} (${unit}) | ${cells.join(' | ')} | ${ratios.join(' | ')} | ${verdictCells(figure.verdict)} |`);
    }
    lines.push('', `![ratios to direct](${chartFile})`, '');
  }
  const withCpu = report.figures.filter((figure) => figure.cpuUnit !== undefined && Object.keys(figure.cpuMedian).length > 0);
  if (withCpu.length > 0) {
    lines.push(
      'Proxy CPU time (user + system, from /proc) per unit of work:',
      '',
      `| figure | unit | ${proxies.map((name) => report.targets[name]).join(' | ')} |${proxies.includes('pgbouncer') ? ' Gatehouse ÷ PgBouncer |' : ''}`,
      `|---|---|${proxies.map(() => '--:').join('|')}|${proxies.includes('pgbouncer') ? '--:|' : ''}`,
    );
    for (const figure of withCpu) {
      const cells = proxies.map((name) => formatSignificant(figure.cpuMedian[name]));
      const bouncer = figure.cpuMedian.pgbouncer;
      const gatehouse = figure.cpuMedian.gatehouse;
      const ratio = proxies.includes('pgbouncer') ? ` ${formatNumber(bouncer !== undefined && gatehouse !== undefined && bouncer > 0 ? gatehouse / bouncer : undefined, 2)} |` : '';
      lines.push(`| ${figure.title} | CPU ${figure.cpuUnit} | ${cells.join(' | ')} |${ratio}`);
    }
    lines.push('');
  }
  if (report.memory !== undefined) lines.push(...memoryLines(report.memory), '');
  if (report.notes.length > 0) lines.push('Notes:', '', ...report.notes.map((note) => `- ${note}`), '');
  return `${lines.join('\n')}\n`;
}

function verdictCells(verdict: Verdict | undefined): string {
  if (verdict === undefined) return ' | ';
  const value = verdict.value === undefined ? '' : ` (${formatNumber(verdict.value, 2)})`;
  const met = verdict.met === undefined ? '? not measured' : verdict.met ? '✅ met' : '❌ not met';
  return `${verdict.text}${value} | ${met}`;
}

function memoryLines(memory: MemorySummary): string[] {
  const lines = [
    'Gatehouse memory with idle sessions (after a full GC, in the Gatehouse process):',
    '',
    '| idle sessions | RSS | V8 heap used | V8 heap committed | external |',
    '|--:|--:|--:|--:|--:|',
    ...memory.steps.map((step) => `| ${formatNumber(step.sessions)} | ${formatBytes(step.rss)} | ${formatBytes(step.heapUsed)} | ${formatBytes(step.heapTotal)} | ${formatBytes(step.external)} |`),
    `| **per session** | **${formatBytes(memory.perSession.rss)}** | **${formatBytes(memory.perSession.heapUsed)}** | | **${formatBytes(memory.perSession.external)}** |`,
    '',
  ];
  if (memory.churn.length > 0) {
    lines.push(
      `RSS after each of ${memory.churn.length} rounds of ${formatNumber(memory.churnSessions)} sessions opening and closing (once their sockets are released): ${memory.churn.map((round) => formatBytes(round.rss)).join(', ')}.  `,
      `V8 heap used (committed) after each round: ${memory.churn.map((round) => `${formatBytes(round.heapUsed)} (${formatBytes(round.heapTotal)})`).join(', ')}.  `,
    );
    if (memory.churnRssLateGrowth !== undefined) {
      lines.push(`RSS growth from the middle round to the last: × ${formatNumber(memory.churnRssLateGrowth, 3)} (a leak keeps growing; allocator slack levels off).`);
    }
    lines.push('');
  }
  for (const verdict of memory.verdicts) {
    const value = verdict.text.startsWith('heap') ? formatBytes(verdict.value) : formatNumber(verdict.value, 2);
    lines.push(`- Target ${verdict.text}: ${value}, ${verdict.met === undefined ? 'not measured' : verdict.met ? '✅ met' : '❌ not met'}`);
  }
  return lines;
}
