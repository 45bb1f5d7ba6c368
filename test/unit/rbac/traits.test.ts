import { describe, expect, it } from 'vitest';
import { expandTraits, parseTraitValue } from '../../../src/rbac/traits.js';

const traits = { db_users: ['app_reader', 'app_writer'], db_names: ['app'], 'team name': ['payments'], empty: [] };

describe('expandTraits', () => {
  it('fills {{internal.x}} and {{external.x}} from the user traits and keeps literals', () => {
    expect(expandTraits(['{{internal.db_users}}', 'postgres'], traits)).toEqual(['app_reader', 'app_writer', 'postgres']);
    expect(expandTraits(['{{external.db_names}}'], traits)).toEqual(['app']);
    expect(expandTraits(['*'], traits)).toEqual(['*']);
  });

  it('accepts spaces inside the braces, bracket syntax and text around the template', () => {
    expect(expandTraits(['{{ internal.db_names }}'], traits)).toEqual(['app']);
    expect(expandTraits(['{{internal["team name"]}}'], traits)).toEqual(['payments']);
    expect(expandTraits(['db_{{internal.db_names}}_ro'], traits)).toEqual(['db_app_ro']);
  });

  it('expands a missing or empty trait, and a malformed template, to nothing', () => {
    expect(expandTraits(['{{internal.logins}}'], traits)).toEqual([]);
    expect(expandTraits(['{{internal.empty}}'], traits)).toEqual([]);
    expect(expandTraits(['{{internal.db_users'], traits)).toEqual([]);
    expect(expandTraits(['{{db_users}}'], traits)).toEqual([]);
    expect(expandTraits(['{{internal.constructor}}', '{{internal.__proto__}}'], traits)).toEqual([]);
  });

  it('drops duplicates', () => {
    expect(expandTraits(['app_reader', '{{internal.db_users}}', 'app_reader'], traits)).toEqual(['app_reader', 'app_writer']);
  });
});

describe('parseTraitValue', () => {
  it('tells literals, templates and broken templates apart', () => {
    expect(parseTraitValue('postgres')).toEqual({ kind: 'literal', value: 'postgres' });
    expect(parseTraitValue('x{{external.logins}}y')).toEqual({ kind: 'template', prefix: 'x', namespace: 'external', trait: 'logins', suffix: 'y' });
    expect(parseTraitValue('{{email.local(external.email)}}')).toEqual({
      kind: 'invalid',
      reason: '"{{email.local(external.email)}}" is not a valid trait template; write {{internal.<trait>}} or {{external.<trait>}}, e.g. {{internal.db_users}}',
    });
    expect(parseTraitValue('{{internal.a}}{{internal.b}}').kind).toBe('invalid');
    expect(parseTraitValue('a}}').kind).toBe('invalid');
  });
});
