// The errors dbctl reports to the person at the terminal. Each says what happened and, in `hint`,
// what to do next, and carries the exit code dbctl ends with: 1 for a usage or local problem
// (a typo, a missing file, an unreachable proxy), 2 when Gatehouse itself refused (HTTP 401, 403,
// 404 or 429 from the API, or a refusal ErrorResponse), so scripts can tell "fix your command"
// from "you are not allowed".

export const ExitCode = {
  OK: 0,
  USER_ERROR: 1,
  REFUSED: 2,
} as const;

export type DbctlExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface DbctlErrorOptions {
  hint?: string;
  exitCode?: DbctlExitCode;
  /** The API's stable error code (GH_ERR_…) when Gatehouse refused. */
  code?: string;
  cause?: unknown;
}

export class DbctlError extends Error {
  readonly hint?: string;
  readonly exitCode: DbctlExitCode;
  readonly code?: string;

  constructor(message: string, options: DbctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DbctlError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.USER_ERROR;
    this.code = options.code;
  }
}

/** Prints an error as dbctl does (message, then "hint: …") and sets the exit code; never exits. */
export function reportDbctlError(error: unknown, writeErr: (text: string) => void): void {
  if (error instanceof DbctlError) {
    process.exitCode = error.exitCode;
    writeErr(`dbctl: ${error.message}\n`);
    if (error.hint !== undefined && error.hint !== '') writeErr(`hint: ${error.hint}\n`);
    return;
  }
  process.exitCode = ExitCode.USER_ERROR;
  if (error instanceof Error) {
    writeErr(`dbctl: ${error.message}\n`);
    const hint = (error as { hint?: unknown }).hint;
    if (typeof hint === 'string' && hint !== '') writeErr(`hint: ${hint}\n`);
    return;
  }
  writeErr(`dbctl: ${String(error)}\n`);
}
