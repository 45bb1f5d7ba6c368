// What the HTTP front of the local endpoint dispatches to: a service is a set of actions under one
// protocol and signing name. Query services are told apart by their API Version, JSON services by
// the X-Amz-Target prefix.
import type { Caller } from './iam.js';
import type { JsonParameters } from './json-protocol.js';
import type { QueryParameters, XmlObject } from './query-protocol.js';

export interface QueryService {
  readonly protocol: 'query';
  /** The SigV4 service name in the credential scope (redshift, sts). */
  readonly signingName: string;
  readonly version: string;
  readonly namespace: string;
  /** Actions AWS accepts without a signature (STS AssumeRoleWithWebIdentity). */
  readonly unauthenticated: ReadonlySet<string>;
  /** Parameters never written to the call log (web identity tokens). */
  readonly secretParameters: ReadonlySet<string>;
  readonly actions: Readonly<Record<string, (params: QueryParameters, caller: Caller | undefined) => Promise<XmlObject>>>;
}

export interface JsonService {
  readonly protocol: 'json';
  readonly signingName: string;
  /** X-Amz-Target is `<targetPrefix>.<Action>`. */
  readonly targetPrefix: string;
  readonly actions: Readonly<Record<string, (params: JsonParameters, caller: Caller) => Promise<unknown>>>;
}

export type AwsService = QueryService | JsonService;
