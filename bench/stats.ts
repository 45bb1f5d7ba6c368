// The few statistics the report needs. Ratios are taken per round (each target against the
// direct run of the same round) and then the median of those, so slow drift on a busy machine
// cancels out instead of favouring whichever target ran in the quiet minute.

export function median(values: readonly number[]): number | undefined {
  return percentile(values, 50);
}

/** Linear interpolation between the closest ranks; undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] as number;
  const highValue = sorted[high] as number;
  return lowValue + (highValue - lowValue) * (rank - low);
}

/** Median over rounds of value[r] / base[r], using only rounds where both exist. */
export function pairedRatio(values: readonly (number | undefined)[], base: readonly (number | undefined)[]): number | undefined {
  const ratios: number[] = [];
  for (let round = 0; round < values.length; round++) {
    const value = values[round];
    const reference = base[round];
    if (value !== undefined && reference !== undefined && reference > 0) ratios.push(value / reference);
  }
  return median(ratios);
}

export function formatNumber(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Three significant figures, for values from 0.001 to millions. */
export function formatSignificant(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return formatNumber(value, digits);
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '—';
  const magnitude = Math.abs(bytes);
  if (magnitude >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (magnitude >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}
