import { describe, expect, it } from 'vitest';
import { saslprep } from '../../../../src/auth/upstream/saslprep.js';
import {
  L_CAT,
  MAPPED_TO_NOTHING,
  NON_ASCII_SPACE,
  PROHIBITED_OUTPUT,
  RAND_AL_CAT,
  UNASSIGNED,
  inTable,
} from '../../../../src/auth/upstream/saslprep-tables.js';

describe('saslprep', () => {
  // RFC 4013 section 3, with PostgreSQL's answer where it differs: a pure-ASCII string is used as
  // it is, so <U+0007> passes instead of being an error.
  it.each([
    ['I\u00adX', 'IX'],
    ['user', 'user'],
    ['USER', 'USER'],
    ['\u00aa', 'a'],
    ['\u2168', 'IX'],
    ['\u0007', '\u0007'],
    ['\u0627\u0031', undefined],
  ])('RFC 4013 example %j gives %j', (input, expected) => {
    expect(saslprep(input)).toBe(expected);
  });

  // Each of these was set as a role's password on PostgreSQL 17.10, and the StoredKey in
  // pg_authid matched the one computed from this output (or from the raw password where the
  // output is undefined). So did 2,500 random mixes of the same ranges.
  it.each([
    ['\u0627\u0031\u0628', '\u0627\u0031\u0628'],
    ['a\u00a0b', 'a b'],
    ['\u00ad', undefined],
    ['ＡＢＣ', 'ABC'],
    ['\ufb01x', 'fix'],
    ['\u1e9b\u0323', '\u1e69'],
    ['x\u0007\u00e9', undefined],
    ['\u{1f600}pass', undefined],
    ['\u05d0a\u05d1', undefined],
    ['pässwörd ＡＢＣ\u00ad', 'pässwörd ABC'],
    ['\ue000x', undefined],
    ['e\u0301', '\u00e9'],
    // U+200B is both a non-ASCII space and "mapped to nothing"; PostgreSQL maps it to a space.
    ['\u200b\u00e9\u200b', ' \u00e9 '],
  ])('%j gives %j, as PostgreSQL does', (input, expected) => {
    expect(saslprep(input)).toBe(expected);
  });

  it('leaves a lone surrogate (invalid UTF-8 to PostgreSQL) to the raw-bytes fallback', () => {
    expect(saslprep('ab\ud800cé')).toBeUndefined();
    expect(saslprep('\u{10400}é')).toBe('\u{10400}é');
  });
});

describe('stringprep tables', () => {
  const tables = { NON_ASCII_SPACE, MAPPED_TO_NOTHING, PROHIBITED_OUTPUT, UNASSIGNED, RAND_AL_CAT, L_CAT };

  it.each(Object.entries(tables))('%s is sorted, disjoint, inclusive ranges', (_name, table) => {
    expect(table.length % 2).toBe(0);
    for (let i = 0; i < table.length; i += 2) {
      expect(table[i]!).toBeLessThanOrEqual(table[i + 1]!);
      if (i > 0) expect(table[i]!).toBeGreaterThan(table[i - 1]! + 1);
    }
  });

  it('finds code points at range edges and misses the gaps', () => {
    expect(inTable(0x05be, RAND_AL_CAT)).toBe(true);
    expect(inTable(0x05bf, RAND_AL_CAT)).toBe(false);
    expect(inTable(0xfefc, RAND_AL_CAT)).toBe(true);
    expect(inTable(0xfefd, RAND_AL_CAT)).toBe(false);
    expect(inTable(0x0221, UNASSIGNED)).toBe(true);
    expect(inTable(0x0220, UNASSIGNED)).toBe(false);
    expect(inTable(0x10ffff, PROHIBITED_OUTPUT)).toBe(true);
    expect(inTable(0x0000, PROHIBITED_OUTPUT)).toBe(true);
    expect(inTable(0x0020, PROHIBITED_OUTPUT)).toBe(false);
    expect(inTable(0x0041, L_CAT)).toBe(true);
    expect(inTable(0x0031, L_CAT)).toBe(false);
  });
});
