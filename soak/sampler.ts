// Samples Gatehouse's memory and event-loop delay every few seconds during the load, so the
// report can give the peak and the worst and typical event-loop p99 of the run, not just two
// snapshots. One scrape at a time: a slow answer delays the next sample rather than piling up.
import { sampleGatehouse, type GatehouseSample } from './gatehouse-metrics.js';
import type { GatehouseProcess } from './gatehouse.js';

export class Sampler {
  readonly samples: GatehouseSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly gatehouse: GatehouseProcess,
    private readonly startedAt: number,
  ) {}

  /** One sample now (not recorded in `samples`). */
  once(): Promise<GatehouseSample> {
    return sampleGatehouse(this.gatehouse, this.startedAt);
  }

  start(intervalMs: number): void {
    // A scrape now resets prom-client's event-loop histogram, so the first window is the load's own.
    this.inFlight = this.once()
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => (this.inFlight = undefined));
    this.timer = setInterval(() => {
      if (this.inFlight !== undefined) return;
      this.inFlight = sampleGatehouse(this.gatehouse, this.startedAt)
        .then((sample) => void this.samples.push(sample))
        .catch(() => undefined)
        .finally(() => (this.inFlight = undefined));
    }, intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }

  peak(pick: (sample: GatehouseSample) => number | undefined): number | undefined {
    const values = this.samples.map(pick).filter((value): value is number => value !== undefined);
    return values.length === 0 ? undefined : Math.max(...values);
  }

  median(pick: (sample: GatehouseSample) => number | undefined): number | undefined {
    const values = this.samples
      .map(pick)
      .filter((value): value is number => value !== undefined)
      .sort((a, b) => a - b);
    return values.length === 0 ? undefined : values[Math.floor(values.length / 2)];
  }
}
