// Reads the Prometheus text exposition format back into numbers, so tests can assert on what a
// scraper would see rather than on prom-client's internals.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class PrometheusText {
  readonly samples: readonly Sample[];

  constructor(readonly text: string) {
    this.samples = text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map(parseSample);
  }

  /** Whether any sample of this metric exists (any labels). */
  has(name: string): boolean {
    return this.samples.some((sample) => sample.name === name);
  }

  /** The sum of the samples of `name` whose labels include `labels`; undefined when none matches. */
  value(name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
    const matching = this.samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
    if (matching.length === 0) return undefined;
    return matching.reduce((sum, sample) => sum + sample.value, 0);
  }

  /** The HELP and TYPE lines of a metric. */
  describe(name: string): { help?: string; type?: string } {
    const lines = this.text.split('\n');
    return {
      help: lines.find((line) => line.startsWith(`# HELP ${name} `))?.slice(`# HELP ${name} `.length),
      type: lines.find((line) => line.startsWith(`# TYPE ${name} `))?.slice(`# TYPE ${name} `.length),
    };
  }
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseSample(line: string): Sample {
  const match = SAMPLE.exec(line);
  if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
  const labels: Record<string, string> = {};
  for (const label of (match[2] ?? '').matchAll(LABEL)) labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
  const text = match[3]!;
  return { name: match[1]!, labels, value: text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text) };
}
