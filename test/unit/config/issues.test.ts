import { describe, expect, it } from 'vitest';
import { formatIssue, formatPath, sortIssues } from '../../../src/config/issues.js';

describe('formatPath', () => {
  it('writes indexes in brackets and quotes keys that are not plain names', () => {
    expect(formatPath(['databases', 0, 'tls', 'mode'])).toBe('databases[0].tls.mode');
    expect(formatPath(['users', 3, 'roles', 1])).toBe('users[3].roles[1]');
    expect(formatPath(['databases', 1, 'labels', 'team.io/owner'])).toBe('databases[1].labels["team.io/owner"]');
    expect(formatPath(['roles', 0, 'allow', 'db_labels', '*'])).toBe('roles[0].allow.db_labels["*"]');
    expect(formatPath([])).toBe('');
  });
});

describe('formatIssue', () => {
  it('prints FILE:LINE:COL: PATH: MESSAGE and leaves out what is missing', () => {
    expect(formatIssue({ file: 'g.yaml', line: 3, column: 7, path: 'proxy.data_dir', message: 'must not be empty' })).toBe(
      'g.yaml:3:7: proxy.data_dir: must not be empty',
    );
    expect(formatIssue({ file: 'g.yaml', line: 1, column: 1, path: '', message: 'invalid YAML: x' })).toBe('g.yaml:1:1: invalid YAML: x');
    expect(formatIssue({ file: 'g.yaml', line: 0, column: 0, path: '', message: 'cannot read' })).toBe('g.yaml: cannot read');
  });
});

describe('sortIssues', () => {
  it('orders by line, then column, keeping ties in order', () => {
    const issue = (line: number, column: number, message: string) => ({ file: 'f', line, column, path: '', message });
    expect(sortIssues([issue(5, 1, 'a'), issue(2, 9, 'b'), issue(2, 3, 'c'), issue(5, 1, 'd')]).map((i) => i.message)).toEqual(['c', 'b', 'a', 'd']);
  });
});
