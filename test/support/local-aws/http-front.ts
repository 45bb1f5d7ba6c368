// The HTTP side of the local AWS endpoint: reads one request, works out the service and action
// (X-Amz-Target for the JSON protocol, Version and Action for the Query protocol), checks the
// SigV4 signature, applies any planned fault, runs the action and writes the answer in the
// service's protocol. Every call lands in the call log with who made it and how it ended.
import http from 'node:http';
import type { Socket } from 'node:net';
import { AwsApiError } from './errors.js';
import type { FaultPlan } from './faults.js';
import { newRequestId, type Caller, type Iam } from './iam.js';
import { JSON_CONTENT_TYPE, JsonParameters, jsonBody, jsonError } from './json-protocol.js';
import { QueryParameters, queryError, queryResponse } from './query-protocol.js';
import type { AwsService, JsonService, QueryService } from './services.js';
import { AuthFailure, authError, verifySigV4 } from './sigv4.js';

export interface CallRecord {
  /** The signing name: redshift, redshift-serverless, sts. */
  readonly service: string;
  readonly action: string;
  readonly accessKeyId?: string;
  /** The caller's ARN (an assumed-role ARN for temporary keys). */
  readonly callerArn?: string;
  /** The role behind temporary keys. */
  readonly roleArn?: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  /** `ok`, `hang`, or the error code answered. */
  readonly outcome: string;
  /** The error message answered, if any. */
  readonly message?: string;
  readonly status: number;
  readonly at: number;
}

export interface HttpFrontOptions {
  readonly region: string;
  readonly now: () => number;
  readonly iam: Iam;
  readonly services: readonly AwsService[];
  readonly faults: FaultPlan;
  readonly onCall: (call: CallRecord) => void;
}

const MAX_BODY_BYTES = 1024 * 1024;

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly extraHeaders?: Record<string, string>;
}

export class HttpFront {
  readonly server: http.Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: HttpFrontOptions) {
    this.server = http.createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        // Only a bug in the endpoint gets here; say so instead of hanging the client.
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`local AWS endpoint failure: ${(error as Error).message}`);
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    return (this.server.address() as { port: number }).port;
  }

  /** Closes the server and every connection, hung requests included. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const body = await readBody(request);
    const target = request.headers['x-amz-target'];
    const reply =
      typeof target === 'string'
        ? await this.handleJson(request, body, target)
        : await this.handleQuery(request, body, requestId);
    if (reply === undefined) return; // a planned hang: the socket is closed with the endpoint
    response.writeHead(reply.status, {
      'content-type': reply.contentType,
      'x-amzn-requestid': requestId,
      date: new Date(this.options.now()).toUTCString(),
      ...reply.extraHeaders,
    });
    response.end(reply.body);
  }

  private async handleQuery(request: http.IncomingMessage, body: Buffer | undefined, requestId: string): Promise<Reply | undefined> {
    const fallback = this.queryServices()[0]!;
    const fail = (service: QueryService, error: AwsApiError): Reply => ({ status: error.status, contentType: 'text/xml', body: queryError(error, service.namespace, requestId) });
    if (body === undefined) return fail(fallback, new AwsApiError('RequestEntityTooLarge', `Request body larger than ${MAX_BODY_BYTES} bytes`, 413));
    if (request.method !== 'POST') return fail(fallback, new AwsApiError('InvalidAction', 'This endpoint takes form-encoded POST requests only.'));
    const params = QueryParameters.parse(body);
    const version = params.optional('Version');
    const action = params.optional('Action');
    if (version === undefined) return fail(fallback, new AwsApiError('MissingParameter', 'The request must contain the parameter Version'));
    const service = this.queryServices().find((candidate) => candidate.version === version);
    if (service === undefined) return fail(fallback, new AwsApiError('NoSuchVersion', `The requested version (${version}) of service is not known to this endpoint`));
    if (action === undefined) return fail(service, new AwsApiError('MissingAction', 'Missing Action'));
    const handler = service.actions[action];
    if (handler === undefined) return fail(service, new AwsApiError('InvalidAction', `Could not find operation ${action} for version ${version}`));

    const outcome = await this.run(service, action, request, body, params.toRecord(service.secretParameters), service.unauthenticated.has(action), (caller) => handler(params, caller));
    if (outcome === undefined) return undefined;
    if (outcome instanceof AwsApiError) return fail(service, outcome);
    return { status: 200, contentType: 'text/xml', body: queryResponse(action, service.namespace, outcome, requestId) };
  }

  private async handleJson(request: http.IncomingMessage, body: Buffer | undefined, target: string): Promise<Reply | undefined> {
    const fail = (error: AwsApiError): Reply => ({ status: error.status, contentType: JSON_CONTENT_TYPE, body: jsonError(error), extraHeaders: { 'x-amzn-errortype': error.code } });
    if (body === undefined) return fail(new AwsApiError('SerializationException', `Request body larger than ${MAX_BODY_BYTES} bytes`, 413));
    const [prefix, action = ''] = target.split('.', 2);
    const service = this.options.services.find((candidate): candidate is JsonService => candidate.protocol === 'json' && candidate.targetPrefix === prefix);
    const handler = service?.actions[action];
    if (service === undefined || handler === undefined || request.method !== 'POST') return fail(new AwsApiError('UnknownOperationException', `Unknown operation ${target}`));
    let params: JsonParameters;
    try {
      params = JsonParameters.parse(body);
    } catch (error) {
      return fail(error as AwsApiError);
    }
    const outcome = await this.run(service, action, request, body, params.toRecord(), false, (caller) => handler(params, caller!));
    if (outcome === undefined) return undefined;
    if (outcome instanceof AwsApiError) return fail(outcome);
    return { status: 200, contentType: JSON_CONTENT_TYPE, body: jsonBody(outcome) };
  }

  /** Authentication, planned faults, the action itself, and the call log entry. */
  private async run<T>(
    service: AwsService,
    action: string,
    request: http.IncomingMessage,
    body: Buffer,
    parameters: Record<string, unknown>,
    unauthenticated: boolean,
    perform: (caller: Caller | undefined) => Promise<T>,
  ): Promise<T | AwsApiError | undefined> {
    const { iam, now } = this.options;
    let caller: Caller | undefined;
    const record = (outcome: string, status: number, message?: string) =>
      this.options.onCall({
        service: service.signingName,
        action,
        accessKeyId: caller?.accessKeyId,
        callerArn: caller?.arn,
        roleArn: caller?.roleArn,
        parameters,
        outcome,
        status,
        message,
        at: now(),
      });
    try {
      if (!unauthenticated) {
        const accessKeyId = await verifySigV4(
          { method: request.method ?? 'POST', url: request.url ?? '/', headers: request.headers, body },
          { region: this.options.region, service: service.signingName, now: now(), secretFor: (id) => iam.secretFor(id) },
        );
        caller = iam.callerFor(accessKeyId);
      }
      const fault = this.options.faults.take(action);
      if (fault !== undefined && 'hang' in fault) {
        record('hang', 0);
        return undefined;
      }
      if (fault !== undefined) throw fault.error;
      const result = await perform(caller);
      record('ok', 200);
      return result;
    } catch (error) {
      const apiError =
        error instanceof AuthFailure ? authError(error, service.protocol) : error instanceof AwsApiError ? error : new AwsApiError('InternalFailure', (error as Error).message, 500);
      record(apiError.code, apiError.status, apiError.message);
      return apiError;
    }
  }

  private queryServices(): QueryService[] {
    return this.options.services.filter((service): service is QueryService => service.protocol === 'query');
  }
}

/** The whole body, or undefined past the cap (the rest is drained, not kept). */
async function readBody(request: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}
