import { join } from 'node:path';
import { open, type Database } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { backupSnapshot } from '../../src/backup/snapshot-backup.js';
import { restoreSnapshot } from '../../src/restore/snapshot-restore.js';
import { Rng } from '../../src/generate/prng.js';
import { digestEnv, digestOpenEnv } from '../helpers/env-digest.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv();
const STEPS = 26;

describe('page-level incremental chain under a random workload', () => {
  it('restoring any prefix of a 1 full + 25 incremental chain equals the source at that point', async () => {
    const dir = tmp.dir;
    const path = join(dir, 'db');
    const env = open({ path, maxDbs: 64 });
    const rng = new Rng(2026);
    const plain = env.openDB<Buffer, string>('plain', { encoding: 'binary' });
    const dups = env.openDB<string, string>('dups', { dupSort: true, encoding: 'ordered-binary' });
    const ints = env.openDB<unknown, number>('ints', { keyEncoding: 'uint32' });
    const dynamic: Array<{ name: string; db: Database<unknown, string> }> = [];
    const dest = join(dir, 'backups');
    const expected: string[] = [];
    const txnIds: number[] = [];
    let chain = '';

    const step = async (i: number): Promise<void> => {
      await env.transaction(() => {
        for (let k = 0; k < 300; k++) {
          const r = rng.float();
          const key = `k${rng.int(0, 3000)}`;
          if (r < 0.45) plain.putSync(key, Buffer.alloc(rng.int(1, 600), rng.int(0, 255)));
          else if (r < 0.55) plain.removeSync(key);
          else if (r < 0.6) plain.putSync(`big${rng.int(0, 40)}`, Buffer.alloc(rng.int(5000, 40000), rng.int(0, 255))); // overflow pages
          else if (r < 0.8) dups.putSync(`d${rng.int(0, 20)}`, `v${rng.int(0, 5000)}`); // sub-pages, then sub-databases
          else if (r < 0.85) dups.removeSync(`d${rng.int(0, 20)}`, `v${rng.int(0, 5000)}`);
          else ints.putSync(rng.int(0, 1e6), { i, k });
        }
      });
      // Named databases come and go.
      if (i % 4 === 1) {
        const name = `dyn-${i}`;
        const db = env.openDB<unknown, string>(name, {});
        await db.put('x', { created: i });
        dynamic.push({ name, db });
      }
      if (i % 6 === 5 && dynamic.length > 0) {
        const victim = dynamic.shift()!;
        await victim.db.drop();
      }
    };

    for (let i = 0; i < STEPS; i++) {
      await step(i);
      const r = await backupSnapshot({ db: env, destination: dest, incremental: true, name: 'work' });
      chain = r.chain;
      expect(r.kind).toBe(i === 0 ? 'full-snapshot' : 'incremental-snapshot');
      txnIds.push(r.txnId);
      // No writes happen between the backup and this digest: it is the source at r.txnId.
      expected.push((await digestOpenEnv(env, path)).digest);
    }
    await env.close();

    // A compacted restore holds the same content in fewer pages.
    const compact = await restoreSnapshot({ from: join(dest, chain), to: join(dir, 'compact.restored'), compact: true });
    expect((await digestEnv(compact.to)).digest).toBe(expected[STEPS - 1]);

    for (const i of [0, 1, 2, 7, 13, 19, 24, STEPS - 1]) {
      const to = join(dir, `restore-${i}`);
      const res = await restoreSnapshot({ from: join(dest, chain), to, upto: txnIds[i] });
      expect(res.files).toHaveLength(i + 1);
      expect((await digestEnv(to)).digest).toBe(expected[i]);
    }
  });
});
