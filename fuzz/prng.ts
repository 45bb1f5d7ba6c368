// The fuzzer's only source of randomness: a small seeded generator (sfc32), one per case, seeded
// from the run's seed and the case number, so any case can be generated again on its own with
// `--seed S --from N --cases 1` whatever the concurrency or the order the cases ran in.

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    // splitmix32 spreads two small numbers over the 128-bit state.
    const mix = (value: number) => {
      let z = (value + 0x9e3779b9) | 0;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix(seed);
    this.b = mix(this.a ^ stream);
    this.c = mix(this.b + 0x632be5ab);
    this.d = mix(this.c ^ Math.imul(stream, 0x27d4eb2d));
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor((this.next() / 0x1_0000_0000) * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  /** One of the items, each with its weight. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.next() / 0x1_0000_0000 * total;
    for (const [weight, item] of items) {
      if ((roll -= weight) < 0) return item;
    }
    return items[items.length - 1]![1];
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** A length skewed toward small values: most cases are short, a few are long. */
  size(max: number): number {
    return Math.min(max, Math.floor(Math.exp((this.next() / 0x1_0000_0000) * Math.log(max + 1))) - 1 + (this.chance(0.5) ? 0 : 1));
  }
}
