import { describe, expect, it } from 'vitest';
import { formatLabels, matchLabels, matchValue } from '../../../src/rbac/match.js';

describe('matchLabels', () => {
  const labels = { env: 'prod', team: 'payments' };

  it('needs every selector key to match one of its values', () => {
    expect(matchLabels({ env: ['prod'] }, labels)).toBe(true);
    expect(matchLabels({ env: ['dev', 'prod'], team: ['payments'] }, labels)).toBe(true);
    expect(matchLabels({ env: ['prod'], team: ['billing'] }, labels)).toBe(false);
    expect(matchLabels({ region: ['eu'] }, labels)).toBe(false);
  });

  it("treats a '*' value as any value of a label the database has, and '*': '*' as every database", () => {
    expect(matchLabels({ env: ['*'] }, labels)).toBe(true);
    expect(matchLabels({ region: ['*'] }, labels)).toBe(false);
    expect(matchLabels({ '*': ['*'] }, labels)).toBe(true);
    expect(matchLabels({ '*': ['*'] }, {})).toBe(true);
    expect(matchLabels({ '*': ['prod'] }, labels)).toBe(false);
  });

  it('matches nothing with an empty selector', () => {
    expect(matchLabels({}, labels)).toBe(false);
    expect(matchLabels({}, {})).toBe(false);
  });

  it('does not read labels off the prototype', () => {
    expect(matchLabels({ constructor: ['*'] }, {})).toBe(false);
  });
});

describe('matchValue', () => {
  it('matches listed values and the wildcard', () => {
    expect(matchValue(['a', 'b'], 'b')).toBe(true);
    expect(matchValue(['a', 'b'], 'c')).toBe(false);
    expect(matchValue(['*'], 'anything')).toBe(true);
    expect(matchValue([], 'a')).toBe(false);
    expect(matchValue(['A'], 'a')).toBe(false);
  });
});

describe('formatLabels', () => {
  it('writes key=value pairs sorted by key', () => {
    expect(formatLabels({ team: 'payments', env: 'prod' })).toBe('env=prod, team=payments');
  });
});
