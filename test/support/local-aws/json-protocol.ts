// The AWS JSON 1.1 protocol, as Redshift Serverless speaks it: POST / with
// `X-Amz-Target: RedshiftServerless.<Action>` and a JSON object body, answered with a JSON object
// or, on failure, with `{"__type": "<Code>", "message": "…"}` and the x-amzn-ErrorType header.
import { AwsApiError } from './errors.js';

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

/** The members of one JSON request, with the accessors the actions need. */
export class JsonParameters {
  constructor(private readonly members: Readonly<Record<string, unknown>>) {}

  static parse(body: Buffer): JsonParameters {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.length === 0 ? '{}' : body.toString('utf8'));
    } catch {
      throw new AwsApiError('SerializationException', 'Start of structure or map found where not expected.');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new AwsApiError('SerializationException', 'Start of structure or map found where not expected.');
    }
    return new JsonParameters(parsed as Record<string, unknown>);
  }

  optionalString(name: string): string | undefined {
    const value = this.members[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new AwsApiError('SerializationException', `Expected a string for ${name}.`);
    return value;
  }

  requiredString(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined) throw validationError(name, 'null', 'Member must not be null');
    return value;
  }

  optionalInteger(name: string): number | undefined {
    const value = this.members[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new AwsApiError('SerializationException', `Expected an integer for ${name}.`);
    return value;
  }

  toRecord(): Record<string, unknown> {
    return { ...this.members };
  }
}

/** The wording of the Coral validation errors the JSON services return. */
export function validationError(member: string, value: string, constraint: string): AwsApiError {
  return new AwsApiError('ValidationException', `1 validation error detected: Value ${value} at '${member}' failed to satisfy constraint: ${constraint}`);
}

/** Dates go out as epoch seconds, the protocol's default timestamp format (members the model marks
 * as date-time strings are given as strings by the caller). */
export function jsonBody(value: unknown): string {
  // The replacer sees a Date after its toJSON() ran, so it looks at the holder's original member.
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, member: unknown) {
    const original = this[key];
    return original instanceof Date ? original.getTime() / 1000 : member;
  });
}

export function jsonError(error: AwsApiError): string {
  return JSON.stringify({ __type: error.code, message: error.message });
}
