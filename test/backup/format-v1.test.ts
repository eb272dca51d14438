/**
 * Snapshot chains of a data format 1 environment (LMDB 0.9's format: no transaction id in
 * page headers), created and written by an lmdb-js built for that format
 * (helpers/lmdb-v1.ts). Incrementals fall back to a page-hash diff: every page is read and
 * only those whose xxh64 differs from the base's are shipped; the result and the manifest
 * say so. A full and several incrementals — updates, deletes, values on overflow pages, a
 * named database created and one dropped — restore to the source at every point.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RootDatabase } from 'lmdb';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupSnapshot, envInfo, restoreSnapshot } from '../../src/index.js';
import { lmdbV1 } from '../helpers/lmdb-v1.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { digestStores } from '../helpers/store-digest.js';

const ctx = useTmpEnv();
let lmdb: typeof import('lmdb');

beforeAll(async () => {
  lmdb = await lmdbV1();
}, 600_000);

const NAMES = ['plain', 'dups', 'later'];

const digest = (env: RootDatabase): Record<string, string> => digestStores(env, NAMES, ['dups']);

async function change(env: RootDatabase, round: number): Promise<void> {
  const plain = env.openDB<string, string>({ name: 'plain' });
  const dups = env.openDB<number, string>({ name: 'dups', dupSort: true });
  await env.transaction(() => {
    for (let i = 0; i < 300; i++) plain.putSync(`k${(i * 7 + round * 13) % 3000}`, `v${round}-${i}`.repeat(6));
    for (let i = 0; i < 100; i++) plain.removeSync(`k${(i * 11 + round * 5) % 3000}`);
    for (let i = 0; i < 40; i++) dups.putSync(`d${i % 8}`, round * 100 + i);
    env.putSync(`big${round % 3}`, 'z'.repeat(30_000 + round));
    if (round === 2) env.openDB({ name: 'later' }).putSync('born', 'in round 2');
  });
}

describe('snapshot chains of a data format 1 environment', () => {
  it('fall back to a page-hash diff for incrementals, and every point restores to the source', async () => {
    const path = join(ctx.dir, 'env');
    const env = lmdb.open({ path, maxDbs: 10 });
    try {
      expect((await envInfo(path)).format.dataVersion).toBe(1);
      await env.transaction(() => {
        for (let i = 0; i < 20_000; i++) env.putSync(`seed${i}`, `value ${i} `.repeat(8));
      });
      await change(env, 0);
      const dest = join(ctx.dir, 'backups');
      const full = await backupSnapshot({ db: env, destination: dest });
      expect(full).toMatchObject({ kind: 'full-snapshot', diff: 'page-hash' });
      const points: Array<{ txnId: number; digest: Record<string, string> }> = [{ txnId: full.txnId, digest: digest(env) }];
      for (let round = 1; round <= 4; round++) {
        await change(env, round);
        if (round === 4) await env.openDB({ name: 'later' }).drop();
        let last: { pages: number; totalPages: number } | undefined;
        const inc = await backupSnapshot({ db: env, destination: dest, incremental: true, onProgress: (p) => (last = p) });
        expect(inc).toMatchObject({ kind: 'incremental-snapshot', chain: full.chain, diff: 'page-hash', baseTxnId: points.at(-1)!.txnId });
        // Progress counts the pages read and hashed, so it ends at its total even though few were shipped.
        expect(last?.totalPages).toBeGreaterThan(inc.pages);
        expect(last?.pages).toBe(last?.totalPages);
        // Only the pages that changed, though every page was read.
        expect(inc.pages).toBeGreaterThan(0);
        expect(inc.pages).toBeLessThan(full.pages / 3);
        points.push({ txnId: inc.txnId, digest: digest(env) });
      }
      const manifest = JSON.parse(readFileSync(join(dest, full.chain, 'manifest.json'), 'utf8')) as { files: Array<{ name: string; pageHashes?: string }> };
      for (const f of manifest.files) {
        expect(f.pageHashes).toBe(`${f.name}.pagehashes`);
        expect(existsSync(join(dest, full.chain, f.pageHashes!))).toBe(true);
      }

      for (const [i, point] of points.entries()) {
        const to = join(ctx.dir, `restored-${i}`);
        const r = await restoreSnapshot({ from: join(dest, full.chain), to, upto: point.txnId });
        expect(r.txnId).toBe(point.txnId);
        const copy = lmdb.open({ path: to, maxDbs: 10, readOnly: true });
        try {
          expect(digest(copy), `point ${i}`).toEqual(point.digest);
        } finally {
          await copy.close();
        }
      }
    } finally {
      await env.close();
    }
  });
});
