// Checks the fields of a JSON request body, with a 400 that names the field and what is wrong.
// Unknown fields are refused rather than ignored: a misspelt "totp_code" silently dropped would
// turn into a confusing "TOTP required" instead of a clear "unknown field".
import { badIdentityText } from '../ca/route-extension.js';
import { badRequest } from './api-errors.js';

/** Refuses fields outside `allowed`, naming them and the ones the endpoint takes. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw badRequest(`unknown field${unknown.length === 1 ? '' : 's'} ${unknown.map((key) => JSON.stringify(key)).join(', ')}; this request takes ${allowed.join(', ')}`);
  }
}

/** A required string field (may be empty only when `allowEmpty`). Never echoes the value: it may be a secret. */
export function requiredString(body: Record<string, unknown>, field: string, options: { allowEmpty?: boolean } = {}): string {
  const value = body[field];
  if (value === undefined || value === null) throw badRequest(`the field "${field}" is missing`);
  if (typeof value !== 'string') throw badRequest(`the field "${field}" must be a string`);
  if (value === '' && options.allowEmpty !== true) throw badRequest(`the field "${field}" must not be empty`);
  return value;
}

/** An optional string field; absent and null read as undefined. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  return requiredString(body, field);
}

/** A name that goes into a certificate (user, database, db user, db name): no control characters, at most 1 KiB. */
export function certificateText(field: string, value: string): string {
  const problem = badIdentityText(value);
  if (problem !== undefined) throw badRequest(`the field "${field}" cannot be used: ${problem}`);
  return value;
}
