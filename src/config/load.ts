// Reading gatehouse.yaml: text → YAML document (keeping node positions) → strict schema → cross-field
// rules → one deeply frozen GatehouseConfig. Every problem found is collected and thrown together in
// one ConfigError, each as FILE:LINE:COL: PATH: MESSAGE, so a person fixes the file in one pass.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { crossFieldIssues, type LocatedIssue } from './cross-checks.js';
import { deepFreeze } from './freeze.js';
import { formatIssue, formatPath, sortIssues, type ConfigIssue } from './issues.js';
import { configSchema } from './schema.js';
import { SourceMap } from './source-map.js';
import type { GatehouseConfig } from './types.js';
import { createErrorMap, toLocatedIssues } from './zod-issues.js';

export type { ConfigIssue } from './issues.js';

export interface LoadOptions {
  /** Directory that relative paths (in the file and of the file) resolve against; default process.cwd(). */
  readonly cwd?: string;
}

export class ConfigError extends GatehouseError {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(ErrorCodes.CONFIG_INVALID, issues.map(formatIssue).join('\n'), { sqlState: SqlState.INTERNAL_ERROR });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Reads and validates a config file. Throws ConfigError, also when the file cannot be read. */
export function loadConfigFile(file: string, options: LoadOptions = {}): GatehouseConfig {
  const absolute = path.resolve(options.cwd ?? process.cwd(), file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: `cannot read the config file: ${readFailure(error, absolute)}` }]);
  }
  return parseConfig(text, file, options);
}

/** Validates config text; `file` names it in messages and (resolved) becomes `source`. Throws ConfigError. */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): GatehouseConfig {
  const cwd = options.cwd ?? process.cwd();
  const config = parseYamlDocument(text, file, configSchema({ cwd, source: path.resolve(cwd, file) }), crossFieldIssues);
  if (config === undefined) {
    throw new ConfigError([{ file, line: 1, column: 1, path: '', message: 'the file is empty; a config needs at least "version: v1"' }]);
  }
  return deepFreeze(config);
}

/**
 * YAML text checked against `schema`, the one way Gatehouse reads its YAML files (gatehouse.yaml,
 * the users file, the locks file): syntax errors alone if there are any, otherwise every schema
 * problem and every one `moreIssues` finds, all at FILE:LINE:COL in one ConfigError. Undefined for
 * a document with no content (empty, or only comments), which each file treats its own way.
 */
export function parseYamlDocument<T>(
  text: string,
  file: string,
  schema: z.ZodType<T>,
  moreIssues: (raw: unknown, sourceMap: SourceMap) => LocatedIssue[] = () => [],
): T | undefined {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const sourceMap = new SourceMap(document, lineCounter);
  refuseYamlSyntaxErrors(document, sourceMap, file);
  if (document.contents === null) return undefined;
  let raw: unknown;
  try {
    raw = document.toJS();
  } catch (error) {
    // e.g. an alias that expands past yaml's limit (a "billion laughs" document).
    throw new ConfigError([{ file, line: 1, column: 1, path: '', message: `invalid YAML: ${(error as Error).message}` }]);
  }
  const allowedKeys = new Map<string, readonly string[]>();
  const result = schema.safeParse(raw, { error: createErrorMap(allowedKeys) });
  const located = [...(result.success ? [] : toLocatedIssues(result.error.issues, allowedKeys)), ...moreIssues(raw, sourceMap)];
  if (!result.success || located.length > 0) {
    throw new ConfigError(
      sortIssues(
        located.map((issue): ConfigIssue => {
          const { line, column } = sourceMap.position(issue.path, issue.anchor);
          return { file, line, column, path: formatPath(issue.path), message: issue.message };
        }),
      ),
    );
  }
  return result.data;
}

function readFailure(error: unknown, absolute: string): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `${absolute} does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied reading ${absolute}`;
    case 'EISDIR':
      return `${absolute} is a directory, not a file`;
    default:
      return `${absolute}: ${(error as Error).message}`;
  }
}

/**
 * A document with syntax errors is only partly understood; checking its shape would bury the real
 * problem under errors that are consequences of it. So syntax errors alone are reported, located.
 */
function refuseYamlSyntaxErrors(document: { errors: ReadonlyArray<{ pos: [number, number]; message: string }> }, sourceMap: SourceMap, file: string): void {
  if (document.errors.length === 0) return;
  throw new ConfigError(
    sortIssues(
      document.errors.map((error) => {
        const { line, column } = sourceMap.offsetToPosition(error.pos[0]);
        return { file, line, column, path: '', message: `invalid YAML: ${error.message}` };
      }),
    ),
  );
}
