import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/docdb/database.js';
import { generateDataset } from '../../src/generate/generate.js';
import { runLoad } from '../../src/generate/load.js';
import { ErrorCodes } from '../../src/errors.js';

let dir: string;
let path: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pv-load-'));
  path = join(dir, 'db');
  await generateDataset({ path, docs: 5000, seed: 'load-test', threads: 0 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runLoad', () => {
  it('commits exactly what it reports: etags, documents and tombstones add up', async () => {
    const before = openDatabase(path, { readOnly: true });
    const start = before.stats();
    await before.close();
    const r = await runLoad({ path, writesPerSec: 0, durationSec: 1.5, writesPerTxn: 5, seed: 1 });
    expect(r.transactions).toBeGreaterThan(10);
    expect(r.inserts).toBeGreaterThan(0);
    expect(r.updates).toBeGreaterThan(0);
    expect(r.deletes).toBeGreaterThan(0);
    expect(r.writes).toBe(r.inserts + r.updates + r.deletes);
    const db = openDatabase(path);
    try {
      const end = db.stats();
      // Every write takes exactly one etag; every delete leaves one tombstone.
      expect(end.lastEtag - start.lastEtag).toBe(r.writes);
      expect(r.lastEtag).toBe(end.lastEtag);
      expect(end.documents).toBe(start.documents + r.inserts - r.deletes);
      expect(end.tombstones).toBe(start.tombstones + r.deletes);
      // Indexes stayed consistent with the documents under the load: a rebuild changes nothing.
      for (const def of db.listIndexes()) {
        const idx = db.indexDb(def);
        const before = [...idx.getRange({})].map((e) => JSON.stringify([e.key, e.value]));
        await db.rebuildIndex(def.name);
        expect([...idx.getRange({})].map((e) => JSON.stringify([e.key, e.value]))).toEqual(before);
      }
    } finally {
      await db.close();
    }
  });

  it('keeps to a target rate', async () => {
    const r = await runLoad({ path, writesPerSec: 200, durationSec: 1, writesPerTxn: 10 });
    // Paced writes cannot run ahead of the target (one transaction of slack).
    expect(r.writes).toBeLessThanOrEqual(200 * r.seconds + 10);
    expect(r.writes).toBeGreaterThan(0);
  });

  it('refuses a missing database and bad options without creating anything', async () => {
    await expect(runLoad({ path: join(dir, 'missing'), durationSec: 0.1 })).rejects.toMatchObject({ code: ErrorCodes.NOT_A_DOCUMENT_DB });
    await expect(runLoad({ path, durationSec: 0 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(runLoad({ path, writesPerTxn: 0, durationSec: 1 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });
});
