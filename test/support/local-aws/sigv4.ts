// Checks AWS Signature Version 4 on requests to the local endpoint the way AWS does: the request
// is signed again with the caller's known secret (@smithy/signature-v4, the SDK's own signer) and
// the signatures are compared in constant time; the credential scope must name this endpoint's
// region and the service, the date must be within 15 minutes, and temporary keys must come with
// their session token and be unexpired. The failures map to the codes AWS returns for each
// protocol, so the SDK raises the same exceptions it raises against AWS.
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsApiError } from './errors.js';

export interface SigningSecret {
  readonly secretAccessKey: string;
  /** Present for temporary (STS) keys: the X-Amz-Security-Token the request must carry. */
  readonly sessionToken?: string;
  /** Epoch ms after which a temporary key is refused with ExpiredToken. */
  readonly expiresAt?: number;
}

export interface SignedRequest {
  readonly method: string;
  /** The request target as received (path and query string). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface VerifyOptions {
  readonly region: string;
  readonly service: string;
  readonly now: number;
  secretFor(accessKeyId: string): SigningSecret | undefined;
}

export type AuthFailureKind = 'missing' | 'malformed' | 'unknown-key' | 'expired-key' | 'bad-signature';

export class AuthFailure extends Error {
  constructor(
    readonly kind: AuthFailureKind,
    message: string,
  ) {
    super(message);
  }
}

const MAX_SKEW_MS = 15 * 60 * 1000;
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** Returns the access key id the request was signed with, or throws AuthFailure. */
export async function verifySigV4(request: SignedRequest, options: VerifyOptions): Promise<string> {
  const authorization = headerValue(request.headers, 'authorization');
  if (authorization === undefined) throw new AuthFailure('missing', 'Request is missing Authentication Token');
  const match = AUTHORIZATION.exec(authorization);
  if (match === null) throw new AuthFailure('malformed', `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters for AWS4-HMAC-SHA256.`);
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = match as unknown as string[];
  const secret = options.secretFor(accessKeyId!);
  if (secret === undefined) throw new AuthFailure('unknown-key', 'The security token included in the request is invalid.');

  const amzDate = headerValue(request.headers, 'x-amz-date');
  const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (signingDate === undefined) throw new AuthFailure('malformed', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.');
  if (amzDate!.slice(0, 8) !== scopeDate) throw new AuthFailure('bad-signature', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate!.slice(0, 8)}'`);
  if (region !== options.region) throw new AuthFailure('bad-signature', `Credential should be scoped to a valid region, not '${region}'.`);
  if (service !== options.service) throw new AuthFailure('bad-signature', `Credential should be scoped to correct service: '${options.service}'.`);
  const skew = signingDate.getTime() - options.now;
  if (skew < -MAX_SKEW_MS) throw new AuthFailure('bad-signature', `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(options.now - MAX_SKEW_MS)} (${formatAmzDate(options.now)} - 15 min.)`);
  if (skew > MAX_SKEW_MS) throw new AuthFailure('bad-signature', `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(options.now + MAX_SKEW_MS)} (${formatAmzDate(options.now)} + 15 min.)`);

  if (secret.sessionToken !== undefined) {
    const token = headerValue(request.headers, 'x-amz-security-token');
    if (token === undefined || !constantTimeEqual(token, secret.sessionToken)) {
      throw new AuthFailure('unknown-key', 'The security token included in the request is invalid.');
    }
    if (secret.expiresAt !== undefined && options.now >= secret.expiresAt) {
      throw new AuthFailure('expired-key', 'The security token included in the request is expired');
    }
  }

  // The signer takes a client's x-amz-content-sha256 as the payload's hash: it must be the body's.
  const declaredHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && !constantTimeEqual(declaredHash, createHash('sha256').update(request.body).digest('hex'))) {
    throw new AuthFailure('bad-signature', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const expected = await expectedSignature(request, signedHeaderList!.split(';'), signingDate, accessKeyId!, secret, region!, service!);
  if (!constantTimeEqual(signature!, expected)) throw new AuthFailure('bad-signature', SIGNATURE_MISMATCH);
  return accessKeyId!;
}

/** The error each protocol answers an AuthFailure with (Query: STS/Redshift codes; JSON: the *Exception names). */
export function authError(failure: AuthFailure, protocol: 'query' | 'json'): AwsApiError {
  const codes: Record<AuthFailureKind, [query: string, json: string, status: number]> = {
    missing: ['MissingAuthenticationToken', 'MissingAuthenticationTokenException', 403],
    malformed: ['IncompleteSignature', 'IncompleteSignatureException', 400],
    'unknown-key': ['InvalidClientTokenId', 'UnrecognizedClientException', 403],
    'expired-key': ['ExpiredToken', 'ExpiredTokenException', 403],
    'bad-signature': ['SignatureDoesNotMatch', 'InvalidSignatureException', 403],
  };
  const [query, json, status] = codes[failure.kind];
  return new AwsApiError(protocol === 'query' ? query : json, failure.message, status);
}

async function expectedSignature(
  request: SignedRequest,
  signedHeaders: string[],
  signingDate: Date,
  accessKeyId: string,
  secret: SigningSecret,
  region: string,
  service: string,
): Promise<string> {
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = headerValue(request.headers, name);
    // A header the client says it signed but did not send cannot verify.
    if (value === undefined) return '';
    headers[name] = value;
  }
  const target = new URL(request.url, 'http://local-aws');
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of target.searchParams) {
    const previous = query[key];
    query[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: secret.secretAccessKey, sessionToken: secret.sessionToken },
    region,
    service,
    sha256: NodeSha256,
  });
  const signed = await signer.sign(
    { method: request.method, protocol: 'http:', hostname: 'local-aws', path: decodeURIComponent(target.pathname), query, headers, body: request.body },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const produced = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization ?? ''));
  return produced?.[1] ?? '';
}

/** SHA-256 and HMAC-SHA-256 from node:crypto in the shape the signer wants. */
export class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    const { secret } = this;
    if (secret === undefined) return createHash('sha256');
    const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : ArrayBuffer.isView(secret) ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength) : Buffer.from(secret);
    return createHmac('sha256', key);
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  // Hashing first makes the comparison constant-time in the content even when lengths differ.
  return timingSafeEqual(createHash('sha256').update(left).digest(), createHash('sha256').update(right).digest()) && left.length === right.length;
}

function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  const date = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function formatAmzDate(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
