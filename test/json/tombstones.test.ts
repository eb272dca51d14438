/**
 * Tombstones and incremental JSON backups (RavenDB's rule): a tombstone may be purged only
 * after every JSON backup chain of the database has carried it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupJson } from '../../src/backup/json-backup.js';
import { openDatabase } from '../../src/docdb/database.js';
import { restoreJson } from '../../src/restore/json-restore.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv('pv-json-tomb-');

describe('tombstone horizon', () => {
  it('purges only what every chain has carried, and the carried deletes restore', async () => {
    const db = openDatabase(join(tmp.dir, 'db'));
    try {
      for (let i = 1; i <= 10; i++) await db.put('Users', `users/${i}`, { i });
      await db.delete('users/1');
      expect(db.tombstoneHorizon()).toBe(db.lastEtag); // nobody consumes tombstones yet
      const a = join(tmp.dir, 'a');
      const b = join(tmp.dir, 'b');
      const fullA = await backupJson({ db: db.env, destination: a, name: 'users' });
      await db.delete('users/2');
      const fullB = await backupJson({ db: db.env, destination: b, name: 'users' });
      expect(Object.values(db.tombstoneConsumers()).sort((x, y) => x - y)).toEqual([fullA.lastEtag, fullB.lastEtag]);
      expect(db.tombstoneHorizon()).toBe(fullA.lastEtag);
      await db.delete('users/3');
      // Chain a has not carried the deletes of users/2 and users/3 yet: only users/1's tombstone may go.
      expect(await db.purgeTombstones()).toBe(1);
      expect([...db.tombstonesSince(0)].map((t) => t.id)).toEqual(['users/2', 'users/3']);
      const incA = await backupJson({ db: db.env, destination: a, name: 'users', incremental: true });
      expect(incA).toMatchObject({ kind: 'incremental-backup', tombstones: 2 });
      // Now b is the laggard: users/3's tombstone stays.
      expect(await db.purgeTombstones()).toBe(1);
      expect([...db.tombstonesSince(0)].map((t) => t.id)).toEqual(['users/3']);
      const restored = await restoreJson({ from: join(a, incA.chain), to: join(tmp.dir, 'r') });
      expect(restored).toMatchObject({ docs: 9, tombstones: 3 });
      const copy = openDatabase(join(tmp.dir, 'r'), { readOnly: true });
      try {
        expect([...copy.docs.getKeys({})].sort()).toEqual(['users/10', 'users/4', 'users/5', 'users/6', 'users/7', 'users/8', 'users/9']);
      } finally {
        await copy.close();
      }
    } finally {
      await db.close();
    }
  });
});
