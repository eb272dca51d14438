/** support: shared helpers of the JSON backup tests. */
import type { DocumentDatabase } from '../../src/docdb/database.js';
import { indexDbName } from '../../src/docdb/layout.js';

/** docdbState: everything a JSON restore must reproduce (not the database id, which a restore renews). */
export function docdbState(db: DocumentDatabase): Record<string, unknown> {
  const indexes = db.listIndexes();
  return {
    docs: [...db.docs.getRange({})].map(({ key, value }) => [key, value]),
    etags: [...db.etags.getRange({})].map(({ key, value }) => [key, value]),
    tombstones: [...db.tombstones.getRange({})].map(({ key, value }) => [key, value]),
    identities: [...db.identities.getRange({})].map(({ key, value }) => [key, value]),
    indexes,
    indexData: Object.fromEntries(
      indexes.map((def) => [indexDbName(def.name), [...db.indexDb(def).getRange({})].map(({ key, value }) => [key, value])]),
    ),
    lastEtag: db.lastEtag,
  };
}

/** oddValues: one document body with every value kind lmdb-js stores. */
export function oddValues(): Record<string, unknown> {
  return {
    nested: { a: [1, [2, [3, { deep: true }]]], empty: {}, list: [] },
    unicode: 'héllo wörld ✓ 漢字 🎉 \u0000\u001f "quoted" back\\slash\nnew',
    lone: 'x\ud800y',
    loneLow: '\udc00',
    negZero: -0,
    negHalf: -0.5,
    float: 1.1,
    tiny: 5e-324,
    huge: 1.7976931348623157e308,
    nan: NaN,
    inf: Infinity,
    ninf: -Infinity,
    big: 2n ** 63n,
    negBig: -(2n ** 40n),
    smallBig: 5n,
    int: 2 ** 53 - 1,
    negInt: -(2 ** 31),
    date: new Date(1700000000123),
    binary: Buffer.from([0, 1, 2, 250, 255]),
    nothing: null,
    undef: undefined,
    bools: [true, false],
    tagLike: { $pv: 'not a tag', v: 1 },
    manyShapes: Array.from({ length: 70 }, (_, i) => ({ [`f${i}`]: i })),
    map: new Map<unknown, unknown>([[1, 'one'], ['k', 2]]),
    set: new Set([1, 2]),
  };
}

