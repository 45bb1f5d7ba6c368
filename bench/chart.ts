// The SVG bar chart of a run: for every figure, PgBouncer's and Gatehouse's performance relative to
// the direct connection (1.0 = as fast as direct; longer is better, so for latencies the bar is
// direct ÷ value), with Gatehouse's target marked on its bar. Hand-written SVG: no dependencies,
// and it renders on GitHub.
import type { FigureSummary } from './results.js';
import { FIGURES } from './figures.js';

const WIDTH = 880;
const LABEL_WIDTH = 310;
const PLOT_WIDTH = 470;
const ROW_HEIGHT = 34;
const BAR_HEIGHT = 12;
const TOP = 100;
const COLOURS = { pgbouncer: '#7b8fc4', gatehouse: '#f08a4b' } as const;

export function ratioChart(figures: readonly FigureSummary[], subtitle: readonly string[]): string {
  const rows = figures.filter((figure) => figure.ratioToDirect.gatehouse !== undefined || figure.ratioToDirect.pgbouncer !== undefined);
  const relative = (figure: FigureSummary, ratio: number | undefined) => (ratio === undefined ? undefined : figure.better === 'higher' ? ratio : 1 / ratio);
  const targetFor = (figure: FigureSummary): number | undefined => {
    const rule = FIGURES.find((definition) => definition.id === figure.id)?.target;
    if (rule === undefined) return undefined;
    if (rule.against === 'direct') return rule.atLeast;
    const bouncer = relative(figure, figure.ratioToDirect.pgbouncer);
    return bouncer === undefined ? undefined : bouncer * rule.atLeast;
  };
  const largest = Math.max(1.2, ...rows.flatMap((figure) => [relative(figure, figure.ratioToDirect.pgbouncer) ?? 0, relative(figure, figure.ratioToDirect.gatehouse) ?? 0, targetFor(figure) ?? 0]));
  const scaleMax = Math.ceil(largest * 10) / 10 + 0.1;
  const x = (value: number) => LABEL_WIDTH + (Math.min(value, scaleMax) / scaleMax) * PLOT_WIDTH;
  const height = TOP + rows.length * ROW_HEIGHT + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">Relative to a direct TLS connection (1.0 = direct; longer is better)</text>`,
    ...subtitle.map((line, index) => `<text x="12" y="${40 + index * 16}" fill="#555">${escape(line)}</text>`),
    legend(12, 40 + subtitle.length * 16 + 6),
  ];
  for (let tick = 0; tick <= scaleMax + 1e-9; tick += scaleMax > 2 ? 0.5 : 0.25) {
    const position = x(tick);
    parts.push(`<line x1="${position}" y1="${TOP - 6}" x2="${position}" y2="${TOP + rows.length * ROW_HEIGHT}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${position}" y="${TOP + rows.length * ROW_HEIGHT + 16}" text-anchor="middle" fill="#555">${tick.toFixed(2)}</text>`);
  }
  rows.forEach((figure, index) => {
    const y = TOP + index * ROW_HEIGHT;
    parts.push(`<text x="${LABEL_WIDTH - 8}" y="${y + ROW_HEIGHT / 2 + 4}" text-anchor="end">${escape(figure.title)}</text>`);
    const bars: Array<['pgbouncer' | 'gatehouse', number | undefined]> = [
      ['pgbouncer', relative(figure, figure.ratioToDirect.pgbouncer)],
      ['gatehouse', relative(figure, figure.ratioToDirect.gatehouse)],
    ];
    bars.forEach(([name, value], barIndex) => {
      if (value === undefined) return;
      const top = y + 4 + barIndex * (BAR_HEIGHT + 2);
      parts.push(`<rect x="${LABEL_WIDTH}" y="${top}" width="${Math.max(1, x(value) - LABEL_WIDTH)}" height="${BAR_HEIGHT}" fill="${COLOURS[name]}"/>`);
      parts.push(`<text x="${x(value) + 4}" y="${top + BAR_HEIGHT - 2}" font-size="10" fill="#333">${value.toFixed(2)}</text>`);
    });
    const target = targetFor(figure);
    if (target !== undefined) {
      const top = y + 4 + BAR_HEIGHT + 2;
      parts.push(`<line x1="${x(target)}" y1="${top - 2}" x2="${x(target)}" y2="${top + BAR_HEIGHT + 2}" stroke="#000" stroke-width="2"><title>Gatehouse target ${target.toFixed(2)}</title></line>`);
    }
  });
  const one = x(1);
  parts.push(`<line x1="${one}" y1="${TOP - 6}" x2="${one}" y2="${TOP + rows.length * ROW_HEIGHT}" stroke="#333" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${one}" y="${TOP - 10}" text-anchor="middle" fill="#333">direct</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function legend(left: number, y: number): string {
  return [
    `<rect x="${left}" y="${y - 9}" width="12" height="10" fill="${COLOURS.pgbouncer}"/><text x="${left + 16}" y="${y}">PgBouncer</text>`,
    `<rect x="${left + 90}" y="${y - 9}" width="12" height="10" fill="${COLOURS.gatehouse}"/><text x="${left + 106}" y="${y}">Gatehouse</text>`,
    `<line x1="${left + 190}" y1="${y - 10}" x2="${left + 190}" y2="${y + 2}" stroke="#000" stroke-width="2"/><text x="${left + 196}" y="${y}">Gatehouse's target</text>`,
  ].join('');
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
