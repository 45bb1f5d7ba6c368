// The HTTPS listener on proxy.web_listen_addr, with the proxy's own certificate. Today it answers
// the health probes; the login API and metrics are added here by later work.
//   GET /healthz  200 while the process is alive
//   GET /readyz   200 while the Postgres listener accepts connections, 503 once shutting down
// Readiness deliberately does not dial databases: one slow database must not take the proxy
// out of a load balancer for everyone.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export interface WebServerOptions {
  readonly certPem: string;
  readonly keyPem: string;
  readonly isReady: () => boolean;
  readonly logger: Logger;
}

export class WebServer {
  private readonly server: https.Server;

  constructor(private readonly options: WebServerOptions) {
    this.server = https.createServer({ cert: options.certPem, key: options.keyPem, minVersion: 'TLSv1.2' }, (request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET' && request.method !== 'HEAD') return this.reply(response, 405, { error: 'method not allowed' });
      if (path === '/healthz') return this.reply(response, 200, { status: 'ok' });
      if (path === '/readyz') {
        return this.options.isReady() ? this.reply(response, 200, { status: 'ready' }) : this.reply(response, 503, { status: 'shutting down' });
      }
      this.reply(response, 404, { error: 'not found' });
    });
    this.server.on('tlsClientError', () => undefined);
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        this.server.on('error', (error) => this.options.logger.error({ err: error }, 'web listener error'));
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private reply(response: import('node:http').ServerResponse, status: number, body: object): void {
    const text = `${JSON.stringify(body)}\n`;
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    response.end(text);
  }
}
