// A small seeded pseudo-random generator (sfc32) so a soak run can be repeated with --seed: the
// same seed gives every session the same sequence of operations and data (timing still varies).
// Math.random cannot be seeded, and the soak must say which seed found a problem.

/** Characters the generated text is made of: ASCII without COPY's escapes (tab, newline,
 * backslash) or SQL quotes, and multi-byte UTF-8 (2, 3 and 4 bytes), so a byte lost or reordered
 * anywhere, even inside a character split across two TLS records, changes a checksum. */
const ALPHABET = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_=+*/()[]{}<>!?#%&|~^@', 'é', 'ß', 'Ω', 'ж', '✓', '→', '漢', '字', '🐘', '🔒'];

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    // Mix the seed in before the first value is used.
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** One of `choices`, each as likely as its weight. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
    let point = this.next() * total;
    for (const [choice, weight] of choices) {
      point -= weight;
      if (point < 0) return choice;
    }
    const last = choices[choices.length - 1];
    if (last === undefined) throw new Error('weighted() needs at least one choice');
    return last[0];
  }

  /** `length` characters from the soak's alphabet (UTF-8 length varies). */
  text(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(this.next() * ALPHABET.length)];
    return out;
  }

  /** A seed for a derived generator (one per session). */
  derive(): number {
    return Math.floor(this.next() * 4294967296);
  }
}
