import { describe, expect, it } from 'vitest';
import { max, mean, median, min, percentile, ratio, sorted, stddev, summarize, throughput } from '../../bench/stats.js';

describe('bench/stats', () => {
  it('median of odd and even counts, independent of input order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('min, max, mean', () => {
    expect(min([5, -1, 3])).toBe(-1);
    expect(max([5, -1, 3])).toBe(5);
    expect(mean([1, 2, 3, 4])).toBe(2.5);
  });

  it('percentile interpolates linearly between closest ranks (R-7)', () => {
    const xs = [10, 20, 30, 40, 50];
    expect(percentile(xs, 0)).toBe(10);
    expect(percentile(xs, 100)).toBe(50);
    expect(percentile(xs, 50)).toBe(30);
    expect(percentile(xs, 90)).toBeCloseTo(46, 10);
    expect(percentile([1, 2], 25)).toBeCloseTo(1.25, 10);
  });

  it('stddev is the sample (n - 1) standard deviation and 0 for one sample', () => {
    expect(stddev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138089935, 8);
    expect(stddev([42])).toBe(0);
  });

  it('does not mutate its input', () => {
    const xs = [3, 1, 2];
    sorted(xs);
    percentile(xs, 50);
    summarize(xs);
    expect(xs).toEqual([3, 1, 2]);
  });

  it('rejects empty input, non-finite samples and out-of-range percentiles', () => {
    expect(() => median([])).toThrow(RangeError);
    expect(() => summarize([])).toThrow(RangeError);
    expect(() => mean([1, Number.NaN])).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });

  it('summarize returns every statistic', () => {
    expect(summarize([4, 1, 3, 2])).toEqual({
      count: 4,
      min: 1,
      max: 4,
      median: 2.5,
      mean: 2.5,
      stddev: expect.closeTo(1.290994449, 8) as unknown as number,
      p90: expect.closeTo(3.7, 10) as unknown as number,
    });
  });

  it('ratio and throughput return null instead of Infinity/NaN', () => {
    expect(ratio(30, 10)).toBe(3);
    expect(ratio(30, 0)).toBeNull();
    expect(ratio(30, null)).toBeNull();
    expect(ratio(undefined, 10)).toBeNull();
    expect(throughput(2e6, 1000)).toBe(2e6);
    expect(throughput(1, 0)).toBeNull();
  });
});
