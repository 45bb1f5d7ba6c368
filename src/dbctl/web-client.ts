// HTTPS to Gatehouse's web API, with the trust rules dbctl keeps: once a proxy's host CA is
// stored, every request verifies the proxy against that CA alone and against the host dialled
// (verify-full; the system's CAs play no part), and presents the identity certificate when one is
// given (mutual TLS). The one unverified request is the first contact's GET /v1/ca, which returns
// the certificate the proxy presented on that same connection so the caller can check it chains
// to the CA offered. Failures become DbctlErrors that say what to check.
import { X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DbctlError, ExitCode } from './dbctl-error.js';

/** No answer of the API is anywhere near this; a larger one is not Gatehouse. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;
/** API statuses that mean Gatehouse refused the person, not that the command was wrong. */
const REFUSAL_STATUSES = new Set([401, 403, 404, 429]);

export interface ProxyAddress {
  host: string;
  port: number;
}

export interface WebClientOptions {
  proxy: ProxyAddress;
  /** The host CA to verify the proxy with; undefined only for the first contact's CA fetch. */
  caPem: string | undefined;
  /** The identity certificate for mutual TLS. */
  clientCertificate?: { certPem: string; keyPem: string };
  timeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** The server certificate presented on the connection (used on first contact). */
  presented?: X509Certificate;
}

/** An error answer of the API: `{ error: { code, message, hint? } }` plus endpoint-specific fields. */
export interface ApiErrorBody {
  code: string;
  message: string;
  hint?: string;
  extra: Record<string, unknown>;
}

export class WebClient {
  constructor(private readonly options: WebClientOptions) {}

  get proxyText(): string {
    return formatProxy(this.options.proxy);
  }

  /** A verified request (the CA must be known). */
  request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResponse> {
    if (this.options.caPem === undefined) throw new Error('WebClient.request needs the host CA; use fetchUnverified for the first contact');
    return this.send(method, path, body, false);
  }

  /** The first contact: TLS without verification, returning what the proxy presented for the caller to check. */
  fetchUnverified(path: string): Promise<ApiResponse> {
    return this.send('GET', path, undefined, true);
  }

  private send(method: 'GET' | 'POST', path: string, body: unknown, unverified: boolean): Promise<ApiResponse> {
    const { proxy } = this.options;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const request = https.request({
        host: proxy.host,
        port: proxy.port,
        path,
        method,
        agent: false,
        minVersion: 'TLSv1.2',
        // SNI carries host names only; an IP address is checked against the certificate's IP SANs.
        ...(isIP(proxy.host) === 0 ? { servername: proxy.host } : {}),
        ...(unverified ? { rejectUnauthorized: false } : { ca: [this.options.caPem as string], rejectUnauthorized: true }),
        ...(this.options.clientCertificate === undefined ? {} : { cert: this.options.clientCertificate.certPem, key: this.options.clientCertificate.keyPem }),
        headers: {
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length }),
        },
        timeout: timeoutMs,
      });
      request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
      request.on('error', (error) => reject(this.networkError(error, unverified)));
      request.on('response', (response) => {
        const presented = unverified ? (response.socket as TLSSocket).getPeerX509Certificate() : undefined;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            request.destroy(new Error(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes; is ${this.proxyText} really Gatehouse's web API?`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            reject(new DbctlError(`${this.proxyText} answered ${method} ${path} with something that is not JSON (HTTP ${response.statusCode ?? '?'})`, {
              hint: 'check --proxy: it is the address of Gatehouse\'s web API (proxy.web_listen_addr), not of its Postgres port',
            }));
            return;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: parsed, ...(presented === undefined ? {} : { presented }) });
        });
        response.on('error', (error) => reject(this.networkError(error, unverified)));
      });
      request.end(payload);
    });
  }

  private networkError(error: Error, unverified: boolean): DbctlError {
    if (error instanceof DbctlError) return error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const where = `Gatehouse at ${this.proxyText}`;
    if (!unverified && isCertificateVerificationCode(code)) {
      return new DbctlError(`the proxy at ${this.proxyText} presented a server certificate that the CA dbctl trusts for it does not accept (${code}: ${error.message})`, {
        hint:
          'if Gatehouse\'s CA was replaced on purpose, run "dbctl logout" and log in again to trust the new one; ' +
          'otherwise someone may be intercepting the connection, so tell your Gatehouse administrator',
        cause: error,
      });
    }
    if (code === 'ECONNREFUSED') {
      return new DbctlError(`cannot reach ${where}: connection refused`, {
        hint: 'check the address (--proxy HOST:PORT, the web API port, proxy.web_listen_addr) and that Gatehouse is running',
        cause: error,
      });
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return new DbctlError(`cannot reach ${where}: the host name ${this.options.proxy.host} does not resolve`, { hint: 'check the host in --proxy', cause: error });
    }
    if (code === 'ETIMEDOUT') {
      return new DbctlError(`cannot reach ${where}: ${error.message}`, { hint: 'check the address and your network (VPN, firewall)', cause: error });
    }
    if (code.startsWith('ERR_SSL') || code === 'ECONNRESET' || code === 'EPROTO') {
      return new DbctlError(`TLS with ${where} failed (${code}): ${error.message}`, {
        hint: 'check that --proxy points at Gatehouse\'s web API (proxy.web_listen_addr), which speaks HTTPS',
        cause: error,
      });
    }
    return new DbctlError(`request to ${where} failed: ${error.message}`, { cause: error });
  }
}

/** The error object of an API error answer, or undefined when the body is not one. */
export function apiErrorBody(body: unknown): ApiErrorBody | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, hint, ...rest } = error as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  const { error: _error, ...topLevel } = body as Record<string, unknown>;
  return { code, message, ...(typeof hint === 'string' ? { hint } : {}), extra: { ...topLevel, ...rest } };
}

/**
 * A DbctlError for an API answer that is not a success: Gatehouse's own message and hint, exit
 * code 2 when it refused the person (401/403/404/429), 1 otherwise.
 */
export function apiError(response: ApiResponse, what: string, hint?: string): DbctlError {
  const exitCode = REFUSAL_STATUSES.has(response.status) ? ExitCode.REFUSED : ExitCode.USER_ERROR;
  const body = apiErrorBody(response.body);
  if (body === undefined) {
    return new DbctlError(`${what} failed: Gatehouse answered HTTP ${response.status}`, { exitCode, hint });
  }
  return new DbctlError(`${what} refused: ${body.message}`, {
    exitCode,
    code: body.code,
    hint: [body.hint, hint].filter((part): part is string => part !== undefined && part !== '').join('; ') || undefined,
  });
}

export function formatProxy(proxy: ProxyAddress): string {
  return isIP(proxy.host) === 6 ? `[${proxy.host}]:${proxy.port}` : `${proxy.host}:${proxy.port}`;
}

function isCertificateVerificationCode(code: string): boolean {
  return (
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'CERT_SIGNATURE_FAILURE' ||
    code === 'CERT_HAS_EXPIRED' ||
    code === 'CERT_NOT_YET_VALID' ||
    code === 'ERR_TLS_CERT_ALTNAME_INVALID'
  );
}
