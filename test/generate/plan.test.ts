import { describe, expect, it } from 'vitest';
import { batchNumbers, collectionCounts, collectionOrder, lexicographicNumbers, planBatches } from '../../src/generate/plan.js';
import { PROFILES } from '../../src/generate/profiles.js';

describe('generation plan', () => {
  it('enumerates 1..n in decimal-string order from any position', () => {
    for (const n of [1, 9, 10, 11, 99, 100, 101, 1234]) {
      const expected = Array.from({ length: n }, (_, i) => i + 1).sort((a, b) => (String(a) < String(b) ? -1 : 1));
      for (const from of [0, 1, Math.floor(n / 3), n - 1]) {
        const out = new Uint32Array(7);
        const count = lexicographicNumbers(n, from, out);
        expect(Array.from(out.subarray(0, count))).toEqual(expected.slice(from, from + 7));
      }
    }
  });

  it('orders ids so that keys only grow (what MDB_APPEND requires)', () => {
    const profile = PROFILES.default;
    const ids: Buffer[] = [];
    for (const b of planBatches(profile, 5000, 333)) {
      const prefix = `${profile.collections[b.collectionIx].name.toLowerCase()}/`;
      for (const n of batchNumbers(b)) ids.push(Buffer.from(`${prefix}${n}-A`));
    }
    expect(ids).toHaveLength(5000);
    for (let i = 1; i < ids.length; i++) expect(Buffer.compare(ids[i - 1], ids[i])).toBe(-1);
  });

  it('splits counts by weight and sums to the total', () => {
    for (const total of [0, 1, 7, 1000, 123457]) {
      const counts = collectionCounts(PROFILES.default, total);
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(total);
    }
    expect(collectionCounts(PROFILES.default, 100)).toEqual({ Users: 25, Orders: 25, Products: 10, Articles: 5, Events: 35 });
    expect(collectionOrder(PROFILES.default).map((i) => PROFILES.default.collections[i].name)).toEqual(['Articles', 'Events', 'Orders', 'Products', 'Users']);
  });
});
