// Turns what zod reports into sentences about the YAML a person wrote: "is required", "must be one
// of verify-full, verify-ca, insecure, not \"strict\"", "unknown key \"lables\"; did you mean
// \"labels\"?". zod's own wording talks about JavaScript types, which is not what the file holds.
import type { z } from 'zod';
import type { LocatedIssue } from './cross-checks.js';
import type { PathSegment } from './source-map.js';

type RawIssue = z.core.$ZodRawIssue;
type Issue = z.core.$ZodIssue;

/**
 * The error map for one parse. It also records, per path, the keys an object that met unknown keys
 * does allow (only the raw issue knows its schema), for `toLocatedIssues` to list.
 */
export function createErrorMap(allowedKeys: Map<string, readonly string[]>): z.core.$ZodErrorMap {
  return (issue: RawIssue) => {
    switch (issue.code) {
      case 'invalid_type':
        return issue.input === undefined ? 'is required' : `must be ${describeExpected(issue.expected)}, not ${describeValue(issue.input)}${quoteHint(issue.expected, issue.input)}`;
      case 'invalid_value': {
        if (issue.input === undefined) return 'is required';
        const values = issue.values.map((value) => (typeof value === 'string' ? value : String(value)));
        return values.length === 1
          ? `must be ${values[0]}, not ${describeValue(issue.input)}`
          : `must be one of ${values.join(', ')}, not ${describeValue(issue.input)}`;
      }
      case 'unrecognized_keys': {
        const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
        allowedKeys.set(pathKey(issue.path ?? []), Object.keys(shape ?? {}));
        return 'unknown keys';
      }
      default:
        return undefined;
    }
  };
}

export function toLocatedIssues(issues: readonly Issue[], allowedKeys: ReadonlyMap<string, readonly string[]>): LocatedIssue[] {
  const located: LocatedIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.map(toSegment);
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys.get(pathKey(issue.path)) ?? [];
      for (const key of issue.keys) {
        located.push({ path: [...path, key], anchor: 'key', message: unknownKeyMessage(key, allowed) });
      }
    } else {
      located.push({ path, anchor: 'value', message: issue.message });
    }
  }
  return located;
}

function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const near = allowed.filter((candidate) => editDistance(candidate, key) <= 2);
  const suggestion = near.length > 0 ? `; did you mean ${near.map((name) => JSON.stringify(name)).join(' or ')}?` : '';
  const listing = allowed.length > 0 ? ` (allowed here: ${allowed.join(', ')})` : '';
  return `unknown key ${JSON.stringify(key)}${suggestion}${listing}`;
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping';
    case 'array':
    case 'tuple':
    case 'set':
      return 'a list';
    case 'boolean':
      return 'true or false';
    case 'number':
    case 'int':
      return 'a number';
    case 'string':
      return 'a string';
    default:
      return `a ${expected}`;
  }
}

/** How a YAML value reads in a message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
    case 'bigint':
      return `the number ${String(value)}`;
    case 'boolean':
      return `the value ${String(value)}`;
    case 'object':
      return 'a mapping';
    default:
      return String(value);
  }
}

function quoteHint(expected: string, input: unknown): string {
  if (expected !== 'string' || (typeof input !== 'number' && typeof input !== 'boolean')) return '';
  return `; YAML reads ${String(input)} as a ${typeof input}, so put it in quotes: "${String(input)}"`;
}

function toSegment(segment: PropertyKey): PathSegment {
  return typeof segment === 'number' ? segment : String(segment);
}

function pathKey(path: readonly PropertyKey[]): string {
  return JSON.stringify(path.map(toSegment));
}

/** Levenshtein distance; keys are short, so the quadratic table is fine. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
