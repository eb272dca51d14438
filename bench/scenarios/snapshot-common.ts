/**
 * snapshot-common: shared set-up for pagevault's snapshot scenarios. Scenarios never
 * modify the cached dataset: those that change data work on a clone (`cloneEnv`, untimed),
 * and every backup goes to the run's own output folder. The benchmark key is fixed (a
 * raw 32-byte key), so encryption costs what it costs in production without a key file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { loadKey, openDatabase, identityId, type LoadedKey } from '../../src/index.js';
import { Rng } from '../../src/generate/prng.js';

/** benchKey: a fresh random AES key for one run. */
export function benchKey(): Promise<LoadedKey> {
  return loadKey({ raw: randomBytes(32) });
}

/** cloneEnv: copy the dataset's data.mdb into `<outDir>/<name>` (copy_file_range; untimed set-up). */
export async function cloneEnv(envDir: string, outDir: string, name = 'env'): Promise<string> {
  const dir = path.join(outDir, name);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.copyFile(path.join(envDir, 'data.mdb'), path.join(dir, 'data.mdb'));
  return dir;
}

/**
 * touchDocuments: update `fraction` of the documents of a generated document database
 * (random ids across collections, each document rewritten with one field changed), in
 * transactions of 1,000 writes. Returns the number of documents updated.
 */
export async function touchDocuments(dir: string, fraction: number, seed: number): Promise<number> {
  const db = openDatabase(dir, { create: false });
  try {
    const identities: Array<[string, number]> = [...db.identities.getRange({})].map((e) => [e.key, e.value]);
    const total = identities.reduce((a, [, n]) => a + n, 0);
    const target = Math.max(1, Math.round(total * fraction));
    const rng = new Rng(seed);
    let done = 0;
    while (done < target) {
      await db.env.transaction(() => {
        const now = Date.now();
        for (let i = 0; i < 1000 && done < target; i++) {
          const [collection, n] = identities[rng.int(0, identities.length - 1)];
          const id = identityId(collection, rng.int(1, n));
          const doc = db.docs.get(id);
          if (!doc) continue;
          db.putInTransaction(collection, id, { ...doc.body, touched: (Number(doc.body.touched) || 0) + 1 }, now);
          done++;
        }
      });
    }
    return done;
  } finally {
    await db.close();
  }
}
