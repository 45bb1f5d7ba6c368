// Where a command writes: commander's configured output (tests capture it), else the process's.
import type { Command } from 'commander';

export interface CommandOutput {
  writeOut: (text: string) => void;
  writeErr: (text: string) => void;
}

export function commandOutput(command: Command): CommandOutput {
  const output = command.configureOutput();
  return {
    writeOut: output.writeOut ?? ((text: string) => void process.stdout.write(text)),
    writeErr: output.writeErr ?? ((text: string) => void process.stderr.write(text)),
  };
}
