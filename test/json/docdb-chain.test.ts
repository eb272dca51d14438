/**
 * JSON backups of the document database: every value kind round-trips, and a chain of a
 * full and incrementals (inserts, updates, deletes, new identities and indexes) restores to
 * exactly the source's state at each point, with indexes answering the same queries.
 * Run twice: with the native export cursor and with the lmdb-js path (the oracle).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupJson } from '../../src/backup/json-backup.js';
import { openDatabase } from '../../src/docdb/database.js';
import { Rng } from '../../src/generate/prng.js';
import { restoreJson } from '../../src/restore/json-restore.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { docdbState, oddValues } from './support.js';

const tmp = useTmpEnv('pv-json-');

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
