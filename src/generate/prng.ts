/**
 * prng: a small, fast, seedable pseudo-random generator for dataset generation.
 * Determinism is the contract: the same seed gives the same sequence on every machine
 * and Node version (only 32-bit integer arithmetic through Math.imul), so the same seed
 * gives the same bytes of document content. Not for anything secret.
 */

/** mix32: a 32-bit avalanche hash (murmur3's finalizer) of `a` and `b`. */
export function mix32(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** seedFromString: a 32-bit seed from any string (`--seed abc` and `--seed 42` both work). */
export function seedFromString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0, s.length);
}

/**
 * Rng: mulberry32. `next()` is a uint32; helpers derive ranges from it. Each document gets
 * its own Rng seeded by (dataset seed, document number), so documents can be generated in
 * any order, by any number of workers, with the same result.
 */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** reseed: restart from `seed` (reusing one Rng per worker avoids an allocation per document). */
  reseed(seed: number): this {
    this.#state = seed >>> 0;
    return this;
  }

  /** next: the next uint32. */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** float: uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** int: uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** chance: true with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** pick: a uniform element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }

  /** logNormalInt: a positive integer with a long right tail, median `median`, clamped to [min, max]. */
  logNormalInt(median: number, sigma: number, min: number, max: number): number {
    // Box-Muller with one draw; the tail matters more than the shape's exactness.
    const u1 = this.float() || 1e-12;
    const u2 = this.float();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    const v = Math.round(median * Math.exp(sigma * z));
    return v < min ? min : v > max ? max : v;
  }
}
