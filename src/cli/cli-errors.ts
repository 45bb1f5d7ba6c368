// How a gatehouse command ends on an error: the message (and hint) on stderr, exit code 1, and no
// process.exit, so pending output is flushed and commands stay callable from tests. A ConfigError's
// message is already one FILE:LINE:COL line per problem.

export function reportCliError(error: unknown, writeErr: (text: string) => void = (text) => void process.stderr.write(text)): void {
  process.exitCode = 1;
  if (error instanceof Error) {
    const hint = (error as { hint?: unknown }).hint;
    writeErr(`${error.message}\n`);
    if (typeof hint === 'string' && hint !== '') writeErr(`hint: ${hint}\n`);
    return;
  }
  writeErr(`${String(error)}\n`);
}
