/**
 * JSON backups of the document database: every value kind round-trips, and a chain of a
 * full and incrementals (inserts, updates, deletes, new identities and indexes) restores to
 * exactly the source's state at each point, with indexes answering the same queries.
 * Run twice: with the native export cursor and with the lmdb-js path (the oracle).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupJson } from '../../src/backup/json-backup.js';
import { openDatabase, type DocumentDatabase } from '../../src/docdb/database.js';
import { indexDbName } from '../../src/docdb/layout.js';
import { Rng } from '../../src/generate/prng.js';
import { restoreJson } from '../../src/restore/json-restore.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv('pv-json-');

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

for (const native of [true, false]) {
  describe(`JSON backup chain of a document database (${native ? 'native cursor' : 'lmdb-js path'})`, () => {
    it('restores every point of a full + 6 incremental chain exactly, indexes included', async () => {
      const dir = tmp.dir;
      const db = openDatabase(join(dir, 'db'));
      const dest = join(dir, 'backups');
      const rng = new Rng(native ? 11 : 12);
      const expected: Array<Record<string, unknown>> = [];
      const points: string[] = [];
      try {
        await db.defineIndex({ name: 'Users.byCity', collection: 'Users', fields: ['address.city'] });
        await db.defineIndex({ name: 'Users.byEmail', collection: 'Users', fields: ['email'], unique: true });
        await db.defineIndex({ name: 'Users.byTag', collection: 'Users', fields: ['tags'] });
        await db.defineIndex({ name: 'Orders.byCustomerTotal', collection: 'Orders', fields: ['customer', 'total'] });
        await db.put('Odd', 'odd/1', oddValues());
        await db.put('Odd', `odd/${'long-id-'.repeat(120)}`, { big: 'x'.repeat(300_000), arr: Array.from({ length: 5000 }, (_, i) => i * 1.5) });
        let chain = '';
        for (let step = 0; step < 7; step++) {
          await db.env.transaction(() => {
            const now = 1_700_000_000_000 + step;
            for (let k = 0; k < 400; k++) {
              const r = rng.float();
              const n = rng.int(1, 900);
              if (r < 0.5) {
                db.putInTransaction('Users', `users/${n}`, { name: `User ${n} ✓`, email: `u${n}-${step}-${k}@x.org`, address: { city: ['Oslo', 'Rome', 'Köln'][n % 3] }, tags: n % 2 ? ['odd', `t${n % 7}`] : [], age: rng.int(1, 90) }, now);
              } else if (r < 0.75) {
                db.putInTransaction('Orders', null, { customer: `users/${n}`, total: rng.int(1, 1000) / 4, lines: [{ sku: `s${n}`, qty: rng.int(1, 5) }] }, now);
              } else {
                db.deleteInTransaction(rng.float() < 0.5 ? `users/${n}` : `orders/${n}-A`, now);
              }
            }
          });
          if (step === 3) await db.defineIndex({ name: 'Orders.byTotal', collection: 'Orders', fields: ['total'] });
          if (step === 5) await db.dropIndex('Users.byTag');
          const r = await backupJson({ db: db.env, destination: dest, incremental: step > 0, name: 'shop', native });
          expect(r.kind).toBe(step === 0 ? 'full-backup' : 'incremental-backup');
          if (step === 0) chain = r.chain;
          expect(r.chain).toBe(chain);
          expected.push(docdbState(db));
          points.push(r.file);
        }
        for (const [i, file] of points.entries()) {
          const to = join(dir, `restored-${i}`);
          const result = await restoreJson({ from: join(dest, chain), to, upto: file });
          expect(result.files).toHaveLength(i + 1);
          const restored = openDatabase(to, { readOnly: true });
          try {
            expect(docdbState(restored)).toEqual(expected[i]);
            expect(restored.databaseId).not.toBe(db.databaseId);
            if (i === points.length - 1) {
              expect(restored.query('Users.byCity', { equals: 'Oslo' }).map((d) => d.id)).toEqual(db.query('Users.byCity', { equals: 'Oslo' }).map((d) => d.id));
              expect(restored.query('Orders.byTotal', { gte: 100, lt: 150 }).map((d) => d.id)).toEqual(db.query('Orders.byTotal', { gte: 100, lt: 150 }).map((d) => d.id));
            }
          } finally {
            await restored.close();
          }
        }
      } finally {
        await db.close();
      }
    }, 120_000);
  });
}
