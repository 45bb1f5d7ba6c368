// One problem found in a config file, with where it is and how it is printed. Every check (YAML
// syntax, the schema, the cross-field rules) reports through this shape so `gatehouse config check`
// and a failing start print the same lines.
import type { ConfigPath } from './source-map.js';

export interface ConfigIssue {
  /** The file as it was named to the loader (so the printed location is the one the person typed). */
  readonly file: string;
  /** 1-based; 0 when the problem has no place in the text (e.g. the file cannot be read). */
  readonly line: number;
  readonly column: number;
  /** e.g. databases[0].tls.mode; '' for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

/** `FILE:LINE:COL: PATH: MESSAGE`, leaving out the parts an issue does not have. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** ['databases', 0, 'tls', 'mode'] → databases[0].tls.mode; odd keys are quoted: labels["team.io/owner"]. */
export function formatPath(path: ConfigPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** Issues in the order they appear in the file, so the first one printed is the first one to fix. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}
