// A log destination for tests: keeps what was written and parses it back as JSON lines.
import { Writable } from 'node:stream';
import { expect } from 'vitest';

export class CaptureStream extends Writable {
  text = '';

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }

  /** Each line, which must be a whole JSON object; the text must end with a newline. */
  lines(): Record<string, unknown>[] {
    if (this.text === '') return [];
    expect(this.text.endsWith('\n')).toBe(true);
    return this.text
      .slice(0, -1)
      .split('\n')
      .map((line) => {
        const parsed: unknown = JSON.parse(line);
        expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
        return parsed as Record<string, unknown>;
      });
  }
}
