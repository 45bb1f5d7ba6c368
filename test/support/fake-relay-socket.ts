// The parts of a TLS socket the relay uses, recording what is written to it and how it was corked.
import { EventEmitter } from 'node:events';

export class FakeSocket extends EventEmitter {
  readonly written: Buffer[] = [];
  destroyed = false;
  readableEnded = false;
  ended = false;
  /** cork() calls not yet matched by uncork(), as Node's Writable counts them. */
  corked = 0;
  /** How many chunks were written while corked and left together at an uncork. */
  readonly batches: number[] = [];
  private inBatch = 0;
  write(chunk: Buffer): boolean {
    this.written.push(chunk);
    if (this.corked > 0) this.inBatch += 1;
    return true;
  }
  cork(): void {
    this.corked += 1;
  }
  uncork(): void {
    if (this.corked === 0) return;
    this.corked -= 1;
    if (this.corked === 0 && this.inBatch > 0) {
      this.batches.push(this.inBatch);
      this.inBatch = 0;
    }
  }
  end(): this {
    this.ended = true;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
}
