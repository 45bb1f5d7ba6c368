// The AWS Query protocol, as Redshift (2012-12-01) and STS (2011-06-15) speak it: a form-encoded
// POST with Action and Version, answered with <ActionResponse><ActionResult>…</ActionResult>
// <ResponseMetadata>…</ResponseMetadata></ActionResponse> or with
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>.
import { AwsApiError, missingParameter } from './errors.js';

/** A value the XML writer can put on the wire; arrays repeat their element, undefined is left out. */
export type XmlValue = string | number | boolean | Date | undefined | XmlObject | XmlValue[];
export interface XmlObject {
  readonly [element: string]: XmlValue;
}

/** The form parameters of one Query request, with the accessors the actions need. */
export class QueryParameters {
  constructor(private readonly form: URLSearchParams) {}

  static parse(body: Buffer): QueryParameters {
    return new QueryParameters(new URLSearchParams(body.toString('utf8')));
  }

  optional(name: string): string | undefined {
    return this.form.get(name) ?? undefined;
  }

  required(name: string): string {
    const value = this.form.get(name);
    if (value === null || value === '') throw missingParameter(name);
    return value;
  }

  integer(name: string): number | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value)) throw new AwsApiError('InvalidParameterValue', `Value (${value}) for parameter ${name} is invalid. Expected an integer.`);
    return Number(value);
  }

  boolean(name: string): boolean | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') throw new AwsApiError('InvalidParameterValue', `Value (${value}) for parameter ${name} is invalid. Expected a boolean.`);
    return value === 'true';
  }

  /** A list member: `Name.Member.1`, `Name.Member.2`, … (the member name varies by shape). */
  list(name: string): string[] {
    const entries: Array<[number, string]> = [];
    for (const [key, value] of this.form) {
      const match = new RegExp(`^${name}\\.[A-Za-z]+\\.(\\d+)$`).exec(key);
      if (match !== null) entries.push([Number(match[1]), value]);
    }
    return entries.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
  }

  /** Every parameter except the protocol's own, for the call log; `secret` names are masked. */
  toRecord(secret: ReadonlySet<string> = new Set()): Record<string, string> {
    const record: Record<string, string> = {};
    for (const [key, value] of this.form) {
      if (key === 'Action' || key === 'Version') continue;
      record[key] = secret.has(key) ? '<redacted>' : value;
    }
    return record;
  }
}

export function queryResponse(action: string, namespace: string, result: XmlObject, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${action}Response xmlns="${namespace}">` +
    xmlElement(`${action}Result`, result) +
    xmlElement('ResponseMetadata', { RequestId: requestId }) +
    `</${action}Response>\n`
  );
}

export function queryError(error: AwsApiError, namespace: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<ErrorResponse xmlns="${namespace}">` +
    xmlElement('Error', { Type: error.type, Code: error.code, Message: error.message }) +
    xmlElement('RequestId', requestId) +
    `</ErrorResponse>\n`
  );
}

export function xmlElement(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((item) => xmlElement(name, item)).join('');
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === 'object') {
    const children = Object.entries(value)
      .map(([child, childValue]) => xmlElement(child, childValue))
      .join('');
    return `<${name}>${children}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}
