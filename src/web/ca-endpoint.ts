// GET /v1/ca: the host CA certificate and its fingerprint, no client certificate needed. The proxy's
// server certificates (web and Postgres) chain to it, so it is what dbctl pins on first login (the
// user compares the fingerprint with the one the administrator published) and what psql uses as
// sslrootcert.
import { X509Certificate } from 'node:crypto';
import type { ApiRoute } from './web-server.js';

/** "sha256:" + 64 lowercase hex digits of SHA-256 over the certificate's DER. */
export function certificateFingerprint(certPem: string): string {
  return `sha256:${new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase()}`;
}

export function caRoute(hostCaPem: string): ApiRoute {
  const body = { host_ca_pem: hostCaPem, fingerprint: certificateFingerprint(hostCaPem) };
  return { method: 'GET', path: '/v1/ca', auth: 'none', handle: () => ({ status: 200, body }) };
}
