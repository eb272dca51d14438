/**
 * stats: pure summary statistics for benchmark samples. No I/O, no clocks, no globals;
 * every function takes its samples as an argument and leaves the array untouched.
 * Empty input is a caller bug and throws a RangeError rather than returning NaN.
 */

/** Summary: what the runner prints and writes to JSON for one series of samples. */
export interface Summary {
  count: number;
  min: number;
  max: number;
  median: number;
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single sample. */
  stddev: number;
  p90: number;
}

function assertSamples(samples: readonly number[], fn: string): void {
  if (samples.length === 0) {
    throw new RangeError(`Expected at least one sample for ${fn} but received an empty array`);
  }
  for (const x of samples) {
    if (!Number.isFinite(x)) {
      throw new RangeError(`Expected finite numbers for ${fn} but received ${String(x)}`);
    }
  }
}

/** sorted: an ascending copy of `samples`. */
export function sorted(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}

/** min: the smallest sample. */
export function min(samples: readonly number[]): number {
  assertSamples(samples, 'min');
  return Math.min(...samples);
}

/** max: the largest sample. */
export function max(samples: readonly number[]): number {
  assertSamples(samples, 'max');
  return Math.max(...samples);
}

/** mean: the arithmetic mean. */
export function mean(samples: readonly number[]): number {
  assertSamples(samples, 'mean');
  let sum = 0;
  for (const x of samples) sum += x;
  return sum / samples.length;
}

/** stddev: the sample standard deviation (Bessel-corrected); 0 for one sample. */
export function stddev(samples: readonly number[]): number {
  assertSamples(samples, 'stddev');
  if (samples.length < 2) return 0;
  const m = mean(samples);
  let sq = 0;
  for (const x of samples) sq += (x - m) * (x - m);
  return Math.sqrt(sq / (samples.length - 1));
}

/**
 * percentile: the `p`-th percentile (0 ≤ p ≤ 100) by linear interpolation between the
 * closest ranks (the "R-7" / numpy default method), so percentile(xs, 50) is the median.
 */
export function percentile(samples: readonly number[], p: number): number {
  assertSamples(samples, 'percentile');
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Expected a percentile between 0 and 100 for p but received ${String(p)}`);
  }
  const xs = sorted(samples);
  const rank = (p / 100) * (xs.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = xs[lo] as number;
  const b = xs[hi] as number;
  return a + (b - a) * (rank - lo);
}

/** median: the middle sample, or the mean of the two middle ones for an even count. */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** summarize: all of the above for one series. */
export function summarize(samples: readonly number[]): Summary {
  assertSamples(samples, 'summarize');
  return {
    count: samples.length,
    min: min(samples),
    max: max(samples),
    median: median(samples),
    mean: mean(samples),
    stddev: stddev(samples),
    p90: percentile(samples, 90),
  };
}

/**
 * ratio: `value / baseline`, or null when either is missing or the baseline is 0, so a
 * failed baseline prints "n/a" instead of Infinity.
 */
export function ratio(value: number | null | undefined, baseline: number | null | undefined): number | null {
  if (value == null || baseline == null || !Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) {
    return null;
  }
  return value / baseline;
}

/** throughput: bytes per second given bytes and milliseconds; null for a zero duration. */
export function throughput(bytes: number, ms: number): number | null {
  if (!(ms > 0) || !Number.isFinite(bytes)) return null;
  return bytes / (ms / 1000);
}
