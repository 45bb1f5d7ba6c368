// A request handler for the real AWS SDK clients that answers from a script instead of a socket:
// the SDK still serializes, signs, retries and deserializes real AWS response documents (Query XML for
// Redshift and STS, JSON 1.1 for Redshift Serverless), so errors reach Gatehouse exactly as the SDK
// builds them. Unit tests only; the integration tests use the local AWS endpoint over HTTP.
import { Readable } from 'node:stream';

export interface CannedAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

/** An answer that never comes (until the request is aborted). */
export const HANG = 'hang' as const;

export interface RecordedRequest {
  readonly action: string;
  readonly params: Record<string, unknown>;
  readonly headers: Record<string, string>;
}

interface SdkRequest {
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

export class CannedAws {
  readonly requests: RecordedRequest[] = [];
  private readonly scripts = new Map<string, (CannedAnswer | typeof HANG)[]>();

  /** Answers for an action, in order; the last one repeats. */
  on(action: string, ...answers: (CannedAnswer | typeof HANG)[]): this {
    this.scripts.set(action, answers);
    return this;
  }

  count(action: string): number {
    return this.requests.filter((request) => request.action === action).length;
  }

  readonly handler = {
    handle: async (request: SdkRequest, options?: { abortSignal?: AbortSignal }) => {
      const body = bodyText(request.body);
      const target = request.headers['x-amz-target'];
      const action = target !== undefined ? target.split('.').pop() ?? target : (new URLSearchParams(body).get('Action') ?? '?');
      const params = target !== undefined ? (JSON.parse(body || '{}') as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(body));
      this.requests.push({ action, params, headers: { ...request.headers } });
      const script = this.scripts.get(action);
      if (script === undefined || script.length === 0) throw new Error(`canned AWS has no answer for ${action}`);
      const answer = script.length > 1 ? script.shift()! : script[0]!;
      if (answer === HANG) {
        return new Promise<never>((_, reject) => {
          options?.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })), { once: true });
        });
      }
      return {
        response: {
          statusCode: answer.status,
          headers: { 'content-type': answer.contentType, 'x-amzn-requestid': `req-${this.requests.length}` },
          body: Readable.from([Buffer.from(answer.body)]),
        },
      };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  };
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  // A view of the bytes, not Buffer.from(body): the SDK's JSON body type warns when used as a string.
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return String(body);
}

const REDSHIFT_NS = 'http://redshift.amazonaws.com/doc/2012-12-01/';

export function queryError(status: number, code: string, message: string): CannedAnswer {
  return {
    status,
    contentType: 'text/xml',
    body: `<ErrorResponse xmlns="${REDSHIFT_NS}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>e-1</RequestId></ErrorResponse>`,
  };
}

export function jsonError(status: number, type: string, message: string): CannedAnswer {
  return { status, contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ __type: type, message }) };
}

export interface ClusterShape {
  readonly id: string;
  readonly status?: string;
  readonly host?: string;
  readonly port?: number;
  readonly customDomainName?: string;
}

export function describeClusters(...clusters: ClusterShape[]): CannedAnswer {
  const members = clusters
    .map((cluster) => {
      const endpoint = cluster.host === undefined ? '' : `<Endpoint><Address>${cluster.host}</Address><Port>${cluster.port ?? 5439}</Port></Endpoint>`;
      const domain = cluster.customDomainName === undefined ? '' : `<CustomDomainName>${cluster.customDomainName}</CustomDomainName>`;
      return `<Cluster><ClusterIdentifier>${cluster.id}</ClusterIdentifier><ClusterStatus>${cluster.status ?? 'available'}</ClusterStatus>${endpoint}${domain}</Cluster>`;
    })
    .join('');
  return {
    status: 200,
    contentType: 'text/xml',
    body: `<DescribeClustersResponse xmlns="${REDSHIFT_NS}"><DescribeClustersResult><Clusters>${members}</Clusters></DescribeClustersResult><ResponseMetadata><RequestId>d-1</RequestId></ResponseMetadata></DescribeClustersResponse>`,
  };
}

export function clusterCredentials(dbUser: string, password: string, expiration: Date): CannedAnswer {
  return {
    status: 200,
    contentType: 'text/xml',
    body: `<GetClusterCredentialsResponse xmlns="${REDSHIFT_NS}"><GetClusterCredentialsResult><DbUser>${escapeXml(dbUser)}</DbUser><DbPassword>${escapeXml(password)}</DbPassword><Expiration>${expiration.toISOString()}</Expiration></GetClusterCredentialsResult><ResponseMetadata><RequestId>g-1</RequestId></ResponseMetadata></GetClusterCredentialsResponse>`,
  };
}

export function workgroup(shape: { name: string; status?: string; host?: string; port?: number; arn?: string }): CannedAnswer {
  return {
    status: 200,
    contentType: 'application/x-amz-json-1.1',
    body: JSON.stringify({
      workgroup: {
        workgroupName: shape.name,
        workgroupArn: shape.arn ?? `arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0f1e2d3c-aaaa-bbbb-cccc-123456789abc`,
        status: shape.status ?? 'AVAILABLE',
        ...(shape.host === undefined ? {} : { endpoint: { address: shape.host, port: shape.port ?? 5439 } }),
      },
    }),
  };
}

export function serverlessCredentials(dbUser: string, password: string, expiration: Date): CannedAnswer {
  return {
    status: 200,
    contentType: 'application/x-amz-json-1.1',
    body: JSON.stringify({ dbUser, dbPassword: password, expiration: expiration.getTime() / 1000, nextRefreshTime: expiration.getTime() / 1000 }),
  };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface StsKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** An AssumeRole or AssumeRoleWithWebIdentity answer. */
export function assumedRole(action: 'AssumeRole' | 'AssumeRoleWithWebIdentity', roleArn: string, keys: StsKeys): CannedAnswer {
  const [, account = '', , roleName = ''] = /^arn:aws:iam::(\d{12}):role\/((?:.*\/)?([^/]+))$/.exec(roleArn) ?? [];
  return {
    status: 200,
    contentType: 'text/xml',
    body:
      `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>` +
      `<AssumedRoleUser><Arn>arn:aws:sts::${account}:assumed-role/${roleName}/gatehouse</Arn><AssumedRoleId>AROAEXAMPLE:gatehouse</AssumedRoleId></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>${keys.accessKeyId}</AccessKeyId><SecretAccessKey>${keys.secretAccessKey}</SecretAccessKey><SessionToken>${keys.sessionToken}</SessionToken><Expiration>${keys.expiration.toISOString()}</Expiration></Credentials>` +
      `</${action}Result><ResponseMetadata><RequestId>s-1</RequestId></ResponseMetadata></${action}Response>`,
  };
}

export function stsError(status: number, code: string, message: string): CannedAnswer {
  return {
    status,
    contentType: 'text/xml',
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>e-2</RequestId></ErrorResponse>`,
  };
}
