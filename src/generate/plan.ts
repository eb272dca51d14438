/**
 * plan: the deterministic order in which a dataset is generated, as pure functions.
 *
 * Documents are generated collection by collection, in the byte order of their ids
 * (`articles/…` < `events/…` < … < `users/…`, and within a collection identity numbers in
 * the decimal-string order of `N-A`: 1, 10, 100, …, 11, …, 2, …). Etags follow that order.
 * Generating in key order lets LMDB append instead of searching and splitting, which is
 * what makes generation fast; the content of a document does not depend on the order.
 */
import { InvalidArgumentError } from '../errors.js';
import { mix32 } from './prng.js';
import type { Profile } from './profiles.js';

/** collectionCounts: documents per collection for `total` documents (largest remainder, sums to total). */
export function collectionCounts(profile: Profile, total: number): Record<string, number> {
  const weightSum = profile.collections.reduce((a, c) => a + c.weight, 0);
  const rows = profile.collections.map((c) => {
    const exact = (total * c.weight) / weightSum;
    return { name: c.name, count: Math.floor(exact), frac: exact - Math.floor(exact) };
  });
  let left = total - rows.reduce((a, r) => a + r.count, 0);
  for (const r of [...rows].sort((a, b) => b.frac - a.frac || a.name.localeCompare(b.name))) {
    if (left-- <= 0) break;
    r.count++;
  }
  return Object.fromEntries(rows.map((r) => [r.name, r.count]));
}

/** collectionOrder: collection indexes of `profile` in the byte order of their id prefixes. */
export function collectionOrder(profile: Profile): number[] {
  const prefix = (i: number): Buffer => Buffer.from(`${profile.collections[i].name.toLowerCase()}/`);
  return profile.collections.map((_, i) => i).sort((a, b) => Buffer.compare(prefix(a), prefix(b)));
}

/**
 * lexicographicNumbers: 1..n in the order of their decimal strings, into `out` starting at
 * `from` (the `from`-th number of that order, 0-based), at most `out.length` of them.
 * Returns how many were written. O(count + log n) per call.
 */
export function lexicographicNumbers(n: number, from: number, out: Uint32Array): number {
  if (from >= n) return 0;
  // Walk the implicit 10-ary tree by skipping whole subtrees until position `from`.
  let cur = 1;
  let k = from;
  while (k > 0) {
    const size = subtreeSize(cur, n);
    if (size <= k) {
      k -= size;
      cur++;
    } else {
      cur *= 10;
      k--;
    }
  }
  let count = 0;
  while (count < out.length && count < n - from) {
    out[count++] = cur;
    if (cur * 10 <= n) cur *= 10;
    else {
      while (cur % 10 === 9 || cur + 1 > n) cur = Math.floor(cur / 10);
      cur++;
    }
  }
  return count;
}

/** subtreeSize: how many numbers in 1..n have the decimal prefix `p`. */
function subtreeSize(p: number, n: number): number {
  let size = 0;
  let lo = p;
  let hi = p;
  while (lo <= n) {
    size += Math.min(n, hi) - lo + 1;
    lo *= 10;
    hi = hi * 10 + 9;
  }
  return size;
}

/** docSeed: the Rng seed of document `n` of collection `collectionIx` in a dataset of seed `seed`. */
export function docSeed(seed: number, collectionIx: number, n: number): number {
  return mix32(mix32(seed, 0x636f6c00 + collectionIx), n);
}

/**
 * Batch: one unit of work for a generator worker: the `count` identity numbers of a
 * collection of `total` documents starting at position `from` of their id order
 * (batchNumbers lists them). Described, not listed, so the plan costs the writer's thread
 * nothing per document: the worker computes the numbers.
 */
export interface Batch {
  /** Sequence number of the batch; the writer commits batches in this order. */
  seq: number;
  collectionIx: number;
  /** Documents of the collection in all, and this batch's first position in their id order. */
  total: number;
  from: number;
  count: number;
  /** Etag of the first document; the rest follow by one. */
  firstEtag: number;
}

/** batchNumbers: the identity numbers of `batch`, in order. */
export function batchNumbers(batch: Batch): Uint32Array {
  const numbers = new Uint32Array(batch.count);
  lexicographicNumbers(batch.total, batch.from, numbers);
  return numbers;
}

/** planBatches: every batch of a dataset, lazily, in write order. */
export function* planBatches(profile: Profile, total: number, batchSize: number): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`Expected a positive integer for batchSize but received ${batchSize}`);
  const counts = collectionCounts(profile, total);
  let seq = 0;
  let etag = 1;
  for (const ci of collectionOrder(profile)) {
    const n = counts[profile.collections[ci].name];
    for (let from = 0, size = 0; from < n; from += size) {
      // Ramp up (256, 512, 1024, …): the writer starts on the first small batch while
      // the workers encode the next ones, instead of waiting for a full-size batch.
      size = Math.min(batchSize, 256 << Math.min(seq, 8), n - from);
      yield { seq: seq++, collectionIx: ci, total: n, from, count: size, firstEtag: etag };
      etag += size;
    }
  }
}
