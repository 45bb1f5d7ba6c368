// Questions dbctl asks the person at the terminal: the password (never echoed), the TOTP code and
// "trust this CA? [y/N]". Prompts go to stderr so stdout stays clean for what scripts capture.
// When stdin is not a terminal dbctl does not ask at all (`interactive` is false) and the caller
// refuses with a message naming the option to use instead (--password-stdin, --totp,
// --ca-fingerprint): a script that pipes something into dbctl must never have it taken as an answer.
import { createInterface } from 'node:readline';
import { DbctlError } from './dbctl-error.js';

export interface Prompter {
  /** Whether a person can be asked (stdin is a terminal). */
  readonly interactive: boolean;
  secret(question: string): Promise<string>;
  line(question: string): Promise<string>;
  confirm(question: string): Promise<boolean>;
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

export class TerminalPrompter implements Prompter {
  constructor(
    private readonly input: NodeJS.ReadStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stderr,
  ) {}

  get interactive(): boolean {
    return this.input.isTTY === true;
  }

  /** Reads a line with echo off (raw mode), handling backspace, Ctrl+C and Ctrl+D. */
  secret(question: string): Promise<string> {
    const input = this.input;
    return new Promise((resolve, reject) => {
      let typed = '';
      const finish = (error?: Error) => {
        input.off('data', onData);
        input.setRawMode(false);
        input.pause();
        this.output.write('\n');
        if (error === undefined) resolve(typed);
        else reject(error);
      };
      const onData = (chunk: Buffer) => {
        for (const character of chunk.toString('utf8')) {
          if (character === '\r' || character === '\n') return finish();
          if (character === CTRL_C) return finish(new DbctlError('cancelled'));
          if (character === CTRL_D) {
            if (typed === '') return finish(new DbctlError('cancelled (end of input)'));
            return finish();
          }
          if (BACKSPACE.has(character)) typed = [...typed].slice(0, -1).join('');
          else if (character >= ' ') typed += character;
        }
      };
      // Echo goes off before the prompt appears, so nothing typed early is ever shown.
      input.setRawMode(true);
      this.output.write(question);
      input.on('data', onData);
      input.resume();
    });
  }

  async line(question: string): Promise<string> {
    const reader = createInterface({ input: this.input, output: this.output, terminal: true });
    let onClose: (() => void) | undefined;
    try {
      return await new Promise<string>((resolve, reject) => {
        onClose = () => reject(new DbctlError('cancelled'));
        reader.once('close', onClose);
        reader.question(question, (answer) => resolve(answer.trim()));
      });
    } finally {
      // Only this listener: readline's own 'close' listener detaches it from the terminal (else it
      // would go on echoing what is typed, the next password included).
      if (onClose !== undefined) reader.off('close', onClose);
      reader.close();
      this.input.pause();
    }
  }

  async confirm(question: string): Promise<boolean> {
    return /^y(es)?$/i.test(await this.line(`${question} [y/N] `));
  }
}

/** All of a stream (stdin for --password-stdin), minus one trailing line break. */
export async function readSecretFromStream(stream: NodeJS.ReadableStream, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (text === '') throw new DbctlError(`${what}: stdin was empty`, { hint: 'pipe the password in, e.g. from a password manager: pass show gatehouse | dbctl login … --password-stdin' });
  return text;
}
