// GET /metrics for a multi-process Gatehouse: a scrape reaches one worker, and must show the whole
// Gatehouse. The worker gathers every worker's registry as JSON (this one included) and sums them
// with prom-client's AggregatorRegistry.aggregate(): counters and gauges add up, histograms merge,
// and metrics prom-client marks otherwise (e.g. version info: first) follow their own aggregator.
//
// Not AggregatorRegistry.clusterMetrics(): it asks every connected worker, also one still starting
// (whose listener is not installed yet, so the scrape waits 5 s and fails), and it keeps its
// registries in prom-client's module state. Gathering through ClusterPeers asks only the workers
// that serve, with the cluster layer's own timeouts, and each daemon keeps its own registry.
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { ClusterPeers } from './cluster-peers.js';

/** The peer operation each worker answers with its registry's metrics as JSON. */
export const METRICS_OP = 'metrics';
/** The peer operation each worker answers with its plain totals (for gatehouse status). */
export const METRICS_SUMMARY_OP = 'metrics-summary';

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Makes this process answer METRICS_OP (and METRICS_SUMMARY_OP) from its own metrics. */
export function answerMetrics(peers: ClusterPeers, registry: Registry, summary: () => Record<string, number>): void {
  peers.handle(METRICS_OP, () => registry.getMetricsAsJSON());
  peers.handle(METRICS_SUMMARY_OP, () => summary());
}

/** A MetricsSource (src/metrics/metrics-endpoint.ts) whose text covers every worker. */
export class ClusterMetrics {
  constructor(
    private readonly peers: ClusterPeers,
    private readonly local: Registry,
  ) {}

  async render(): Promise<string> {
    const gathered = await this.peers.gather<MetricsJson>(METRICS_OP);
    return AggregatorRegistry.aggregate(gathered.answers.map((answer) => answer.value)).metrics();
  }

  get contentType(): string {
    return this.local.contentType;
  }
}

/** The totals of every worker added up (each worker's MetricsSummary is plain numbers). */
export async function clusterSummary(peers: ClusterPeers): Promise<Record<string, number>> {
  const gathered = await peers.gather<Record<string, number>>(METRICS_SUMMARY_OP);
  const total: Record<string, number> = {};
  for (const { value } of gathered.answers) {
    for (const [name, count] of Object.entries(value)) total[name] = (total[name] ?? 0) + count;
  }
  return total;
}
