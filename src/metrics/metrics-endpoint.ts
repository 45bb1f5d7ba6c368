// GET /metrics on the web listener: the daemon's registry in the Prometheus text format, with the
// content type prom-client names. Unauthenticated (auth 'none'), like the health probes, so a
// Prometheus server needs only the host CA; it shows counts and database names, never users.
import { TextBody, type ApiRoute } from '../web/web-server.js';

export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

export function metricsRoute(metrics: MetricsSource): ApiRoute {
  return {
    method: 'GET',
    path: '/metrics',
    auth: 'none',
    handle: async () => ({ status: 200, body: new TextBody(await metrics.render(), metrics.contentType) }),
  };
}
