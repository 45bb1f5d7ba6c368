// The HTTPS listener on proxy.web_listen_addr, with the proxy's own certificate: the health probes
// and the JSON API dbctl talks to (routes come from the endpoint files). This file does what every
// route shares: routing (404, 405), the identity check for routes that need one, reading the body,
// and turning a reply or an ApiError into JSON.
//   GET /healthz  200 while the process is alive
//   GET /readyz   200 while the Postgres listener accepts connections, 503 once shutting down
// (GET /metrics, the one text route, comes from src/metrics/metrics-endpoint.ts.)
// Readiness deliberately does not dial databases: one slow database must not take the proxy
// out of a load balancer for everyone.
//
// Mutual TLS: every client is asked for a certificate from the user CA, but the handshake also
// completes without one or with a bad one (rejectUnauthorized: false), because /v1/login and
// /v1/ca must work before the client has any certificate, and because a finished handshake lets
// Gatehouse answer "your identity certificate expired at …; run dbctl login again" instead of a
// bare TLS alert. Routes marked `auth: 'identity'` refuse unverified callers (client-identity.ts);
// routes marked `auth: 'admin'` also refuse, with 403, a caller none of whose roles has options.admin.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { GatehouseConfig } from '../config/types.js';
import { ErrorCodes } from '../errors.js';
import { ApiError, internalError } from './api-errors.js';
import { isAdministrator } from '../admin/administrators.js';
import { callerIdentity, type CallerIdentity } from './client-identity.js';
import { readJsonBody } from './request-body.js';

export interface ApiRequest {
  /** For log lines and the 500 message; random per request. */
  readonly id: string;
  /** The client's IP address (what login throttling counts per). */
  readonly clientAddress: string;
  /** address:port, as session audit events write client_addr. */
  readonly clientEndpoint: string;
  /** The parsed JSON object of a POST; {} for a GET. */
  readonly body: Record<string, unknown>;
  /** Present exactly for routes with auth 'identity' or 'admin'. */
  readonly caller: CallerIdentity | undefined;
}

/** A reply body sent as text rather than JSON (GET /metrics: the Prometheus text format). */
export class TextBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
}

export interface ApiReply {
  readonly status: number;
  /** Sent as JSON, unless it is a TextBody. */
  readonly body: object;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ApiRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /**
   * 'identity': mutual TLS with a dbctl identity certificate, checked before the body is read.
   * 'admin': the same, and the user must have a role with options.admin (else 403 GH_ERR_NOT_ADMIN).
   */
  readonly auth: 'none' | 'identity' | 'admin';
  handle(request: ApiRequest): ApiReply | Promise<ApiReply>;
  /**
   * Called when the request was refused with an ApiError, whoever refused it (the identity or admin
   * check, the body reader, the handler): the admin routes audit their refusals here. `caller` and
   * `body` are what was known by then.
   */
  refused?(request: RefusedRequest, error: ApiError): void;
}

export interface RefusedRequest {
  readonly clientEndpoint: string;
  readonly caller: CallerIdentity | undefined;
  readonly body: Record<string, unknown> | undefined;
}

export interface WebServerOptions {
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA whose client certificates the identity routes accept. */
  readonly userCaPem: string;
  readonly isReady: () => boolean;
  /** The configuration in force now: identity routes look the caller up in it. */
  readonly config: () => GatehouseConfig;
  readonly routes?: readonly ApiRoute[];
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Bounds a client that trickles its request (headers and body). */
const REQUEST_TIMEOUT_MS = 60_000;

export class WebServer {
  private readonly server: https.Server;
  private readonly routes: readonly ApiRoute[];
  private readonly now: () => number;

  constructor(private readonly options: WebServerOptions) {
    this.now = options.now ?? Date.now;
    this.routes = [
      { method: 'GET', path: '/healthz', auth: 'none', handle: () => ({ status: 200, body: { status: 'ok' } }) },
      {
        method: 'GET',
        path: '/readyz',
        auth: 'none',
        handle: () => (this.options.isReady() ? { status: 200, body: { status: 'ready' } } : { status: 503, body: { status: 'shutting down' } }),
      },
      ...(options.routes ?? []),
    ];
    this.server = https.createServer(
      {
        cert: options.certPem,
        key: options.keyPem,
        ca: options.userCaPem,
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
        requestTimeout: REQUEST_TIMEOUT_MS,
      },
      (request, response) => void this.serve(request, response),
    );
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

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const id = randomUUID();
    const socket = request.socket as TLSSocket;
    const clientAddress = socket.remoteAddress ?? '?';
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const clientEndpoint = `${clientAddress}:${socket.remotePort ?? 0}`;
    const known: { route?: ApiRoute; caller?: CallerIdentity; body?: Record<string, unknown> } = {};
    try {
      const route = this.route(request.method ?? '', path);
      known.route = route;
      const caller = route.auth === 'none' ? undefined : callerIdentity(socket, this.options.config(), this.now());
      known.caller = caller;
      if (route.auth === 'admin' && caller !== undefined) this.requireAdministrator(caller);
      const body = route.method === 'POST' ? await readJsonBody(request) : {};
      known.body = body;
      const reply = await route.handle({ id, clientAddress, clientEndpoint, body, caller });
      this.reply(response, reply.status, reply.body, reply.headers);
      this.options.logger.debug({ request_id: id, method: request.method, path, status: reply.status, user: caller?.user.name }, 'web request');
    } catch (error) {
      if (error instanceof ApiError) {
        known.route?.refused?.({ clientEndpoint, caller: known.caller, body: known.body }, error);
        this.reply(response, error.status, error.body(), error.headers);
        this.options.logger.debug({ request_id: id, method: request.method, path, status: error.status, code: error.code }, 'web request refused');
        return;
      }
      // Not request.destroyed: Node destroys an IncomingMessage once its body has been read, so
      // every POST would look abandoned and get no answer at all. The socket says whether the client left.
      if (socket.destroyed || response.destroyed) {
        this.options.logger.debug({ request_id: id, path }, 'web client went away mid-request');
        return;
      }
      this.options.logger.error({ request_id: id, method: request.method, path, err: error }, 'web request failed unexpectedly');
      const failure = internalError(id);
      this.reply(response, failure.status, failure.body());
    }
  }

  /** 403 GH_ERR_NOT_ADMIN for a verified caller none of whose roles has options.admin. */
  private requireAdministrator(caller: CallerIdentity): void {
    if (!isAdministrator(this.options.config(), caller.user)) {
      const name = caller.user.name;
      const why = caller.user.roles.length === 0 ? `${name} has no roles` : `none of ${name}'s roles (${caller.user.roles.join(', ')}) has options.admin`;
      throw new ApiError(403, ErrorCodes.NOT_ADMIN, `${name} is not a Gatehouse administrator: ${why}`, {
        hint: 'administrators have a role with "options: { admin: true }" in gatehouse.yaml',
      });
    }
  }

  /** The route for this method and path; 404 for an unknown path, 405 (with Allow) for a known path and another method. */
  private route(method: string, path: string): ApiRoute {
    const candidates = this.routes.filter((route) => route.path === path);
    if (candidates.length === 0) {
      throw new ApiError(404, ErrorCodes.NOT_FOUND, 'no such endpoint', { hint: 'the endpoints are listed in docs/web-api.md' });
    }
    // HEAD is a GET without the body; Node leaves the body out of HEAD responses itself.
    const found = candidates.find((route) => route.method === (method === 'HEAD' ? 'GET' : method));
    if (found === undefined) {
      const allowed: string[] = candidates.map((route) => route.method);
      if (allowed.includes('GET')) allowed.push('HEAD');
      throw new ApiError(405, ErrorCodes.METHOD_NOT_ALLOWED, `${path} answers ${allowed.join(', ')}, not ${method}`, { headers: { allow: allowed.join(', ') } });
    }
    return found;
  }

  private reply(response: ServerResponse, status: number, body: object, headers: Readonly<Record<string, string>> = {}): void {
    if (response.headersSent) return;
    const text = body instanceof TextBody ? body.text : `${JSON.stringify(body)}\n`;
    response.writeHead(status, {
      ...headers,
      'content-type': body instanceof TextBody ? body.contentType : 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    response.end(text);
  }
}
