// Page-level incremental snapshots: a chain of a full snapshot and many deltas reproduces every snapshot exactly
// (lmdb-js reads as the oracle, and page-for-page equality with a full snapshot at the same txn), and the walk's
// cost grows with the changes, not with the size of the environment.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { fileURLToPath } from 'node:url';

import type { RootDatabase } from 'lmdb';
import { describe, expect, it } from 'vitest';

import { Rng } from '../../src/generate/prng.js';
import { envInfo } from '../../src/snapshot/env-info.js';
import { openPageSource, type PageSource, type PageSourceStats } from '../../src/snapshot/page-source.js';
import { writeSnapshotFile } from '../../src/snapshot/snapshot-file.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import {
  digestDatabases,
  lastTxnId,
  rawDb,
  runNode,
  seededBytes,
  sleep,
  withCopy,
  type DbSpec,
} from './support.js';

const ctx = useTmpEnv('pagevault-incremental-');
const WRITER = fileURLToPath(new URL('./fixtures/hard-writer.mjs', import.meta.url));

const key = (prefix: string, n: number): Buffer => Buffer.from(`${prefix}${String(n).padStart(7, '0')}`);

/** Workload: the random writes between two snapshots, and the named databases that exist. */
class Workload {
  readonly rng: Rng;
  readonly root: RootDatabase;
  readonly live = new Map<string, DbSpec>();

  constructor(root: RootDatabase, seed: number) {
    this.rng = new Rng(seed);
    this.root = root;
    for (const spec of [{ name: 'plain' }, { name: 'big' }, { name: 'dups', dupSort: true }]) {
      this.live.set(spec.name, spec);
      rawDb(root, spec);
    }
  }

  specs(): DbSpec[] {
    return [{ name: null }, ...[...this.live.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)))];
  }

  bytes(size: number): Buffer {
    return seededBytes(() => this.rng.next(), size);
  }

  /** fill: the initial content: a multi-level tree, overflow runs, dupSort sub-databases and sub-pages. */
  async fill(): Promise<void> {
    const plain = rawDb(this.root, { name: 'plain' });
    const big = rawDb(this.root, { name: 'big' });
    const dups = rawDb(this.root, { name: 'dups', dupSort: true });
    await this.root.transaction(() => {
      for (let i = 0; i < 6000; i += 2) plain.put(key('p', i), this.bytes(this.rng.int(8, 1500)));
      for (let i = 0; i < 120; i += 2) big.put(key('b', i), this.bytes(this.rng.int(4100, 40_000)));
      for (let i = 0; i < 4; i++) for (let v = 0; v < 4000; v += 3) dups.put(key('many-', i), key('v', v));
      for (let i = 0; i < 40; i++) for (let v = 0; v < 1 + (i % 4); v++) dups.put(key('few-', i), key('v', v));
    });
  }

  /** step: three transactions of puts, deletes, big values and duplicates; every few steps a named DB comes or goes. */
  async step(step: number): Promise<void> {
    const { rng, root } = this;
    const plain = rawDb(root, { name: 'plain' });
    const big = rawDb(root, { name: 'big' });
    const dups = rawDb(root, { name: 'dups', dupSort: true });
    const top = rawDb(root, { name: null });
    for (let txn = 0; txn < 3; txn++) {
      await root.transaction(() => {
        for (let i = rng.int(50, 400); i > 0; i--) {
          const k = key('p', rng.int(0, 5999));
          if (rng.chance(0.25)) plain.remove(k);
          else plain.put(k, this.bytes(rng.int(8, 1500)));
        }
        for (let i = rng.int(0, 6); i > 0; i--) {
          const k = key('b', rng.int(0, 120));
          if (rng.chance(0.3)) big.remove(k);
          else big.put(k, this.bytes(rng.int(4100, 40_000))); // larger than a page: overflow runs
        }
        for (let i = rng.int(0, 60); i > 0; i--) {
          // few-*: a handful of values (sub-pages); many-*: thousands (sub-databases)
          const many = rng.chance(0.5);
          const k = many ? key('many-', rng.int(0, 3)) : key('few-', rng.int(0, 40));
          const v = key('v', rng.int(0, many ? 4000 : 6));
          if (rng.chance(0.2)) dups.remove(k, v);
          else dups.put(k, v);
        }
        if (rng.chance(0.5)) top.put(key('root-', rng.int(0, 30)), this.bytes(rng.int(1, 200)));
      });
    }
    if (step % 3 === 1) {
      const name = `tmp-${step}`;
      const db = rawDb(root, { name });
      this.live.set(name, { name });
      await root.transaction(() => {
        for (let i = 0; i < 300; i++) db.put(key('t', i), this.bytes(rng.int(10, 600)));
      });
    }
    if (step % 3 === 0) {
      const victim = [...this.live.keys()].find((name) => name.startsWith('tmp-'));
      if (victim !== undefined) {
        await rawDb(root, { name: victim }).drop();
        this.live.delete(victim);
      }
    }
  }
}

/** expectPagesEqual: every page `full` ships has the same bytes in `dataFile`. Consumes `full`. */
async function expectPagesEqual(full: PageSource, dataFile: string): Promise<number> {
  const file = readFileSync(dataFile);
  let pages = 0;
  for await (const batch of full.batches()) {
    let offset = 0;
    for (let i = 0; i < batch.runs.length; i += 2) {
      const first = batch.runs[i] ?? 0;
      const length = (batch.runs[i + 1] ?? 0) * full.pageSize;
      const expected = batch.data.subarray(offset, offset + length);
      const actual = file.subarray(first * full.pageSize, first * full.pageSize + length);
      if (!expected.equals(actual)) throw new Error(`pages ${first}+${length / full.pageSize} differ`);
      offset += length;
      pages += length / full.pageSize;
    }
  }
  expect(file.subarray(0, 2 * full.pageSize).equals(full.metaPages)).toBe(true);
  return pages;
}

describe('incremental chains', () => {
  it('a full snapshot and 12 deltas reproduce every snapshot exactly', async () => {
    const root = ctx.open({ maxDbs: 50 });
    const workload = new Workload(root, 20_240_601);
    await workload.fill();
    await workload.step(0);
    const chainDir = join(ctx.dir, 'chain');
    mkdirSync(chainDir);
    const chainFile = join(chainDir, 'data.mdb');

    const base = await openPageSource(root);
    await writeSnapshotFile(base, chainFile);
    let previous = base.txnId;
    const fractions: number[] = [];

    for (let step = 1; step <= 12; step++) {
      await workload.step(step);
      const specs = workload.specs();
      for (const spec of specs) rawDb(root, spec);
      const delta = await openPageSource(root, { baseTxnId: previous });
      expect(delta.mode).toBe('incremental');
      expect(delta.txnId).toBeGreaterThan(previous);
      const oracle = digestDatabases(root, specs, delta.transaction);
      const result = await writeSnapshotFile(delta, chainFile);
      expect(result.pagesWritten).toBe(delta.stats.pagesToShip);
      expect(delta.stats.overflowRefMismatches).toBe(0);

      // Page for page, the chain equals a full snapshot of the same transaction (no commit in between).
      const full = await openPageSource(root);
      expect(full.txnId).toBe(delta.txnId);
      expect(full.stats.overflowRefMismatches).toBe(0);
      const fullPages = await expectPagesEqual(full, chainFile);
      fractions.push(result.pagesWritten / fullPages);

      // And lmdb-js reads the chain at exactly that transaction, with the same content and databases.
      await withCopy(chainFile, join(ctx.dir, `check-${step}`), { maxDbs: 50, readOnly: true }, (env) => {
        expect(lastTxnId(env)).toBe(delta.txnId);
        expect(digestDatabases(env, specs).digest).toBe(oracle.digest);
      });
      const names = (await envInfo(chainFile)).namedDatabases?.map((db) => db.name).sort();
      expect(names).toEqual([...workload.live.keys()].sort());
      previous = delta.txnId;
    }
    // Deltas are smaller than full snapshots (the workload rewrites a good part of a small env each step).
    expect(Math.max(...fractions)).toBeLessThan(1);
  });

  it('deltas taken while another process writes hard reproduce each pinned snapshot', async () => {
    const envDir = join(ctx.dir, 'env');
    const root = ctx.open({ maxDbs: 20 });
    const specs: DbSpec[] = [{ name: null }, { name: 'data' }, { name: 'big' }, { name: 'dups', dupSort: true }];
    for (const spec of specs) rawDb(root, spec);
    await rawDb(root, { name: 'data' }).put(Buffer.from('seed'), Buffer.from('x'));
    const writer = runNode(WRITER, [envDir, '4000', '21', 'async']);
    await writer.ready;
    await sleep(200);
    const chainFile = join(ctx.dir, 'chain.mdb');
    const base = await openPageSource(root);
    await writeSnapshotFile(base, chainFile);
    let previous = base.txnId;
    for (let step = 0; step < 6; step++) {
      // Wait for real progress (not a fixed time: other test files compete for the two cores).
      await sleep(250);
      for (let waited = 0; (root.getStats() as { lastTxnId: number }).lastTxnId <= previous + 10 && waited < 10_000; waited += 50) await sleep(50);
      const delta = await openPageSource(root, { baseTxnId: previous, maxBatchBytes: 32 * 1024 });
      expect(delta.txnId).toBeGreaterThan(previous + 10);
      const oracle = digestDatabases(root, specs, delta.transaction);
      await writeSnapshotFile(delta, chainFile);
      await withCopy(chainFile, join(ctx.dir, `check-${step}`), { maxDbs: 20, readOnly: true }, (env) => {
        expect(lastTxnId(env)).toBe(delta.txnId);
        expect(digestDatabases(env, specs).digest).toBe(oracle.digest);
      });
      previous = delta.txnId;
    }
    await writer.done;
  });

  it('applying a delta to the wrong base is refused before anything is written', async () => {
    const root = ctx.open();
    const workload = new Workload(root, 7);
    await workload.step(0);
    const first = await openPageSource(root);
    const chainFile = join(ctx.dir, 'chain.mdb');
    await writeSnapshotFile(first, chainFile);
    await workload.step(1);
    const second = await openPageSource(root);
    await second.close();
    await workload.step(2);
    const skipping = await openPageSource(root, { baseTxnId: second.txnId });
    const before = readFileSync(chainFile);
    await expect(writeSnapshotFile(skipping, chainFile)).rejects.toMatchObject({
      code: 'PAGEVAULT_ERR_CHAIN_MISMATCH',
    });
    expect(readFileSync(chainFile).equals(before)).toBe(true);
    expect(skipping.closed).toBe(true);
  });
});

describe('incremental cost', () => {
  interface Measured {
    full: PageSourceStats;
    delta: PageSourceStats;
  }

  /** measure: a full snapshot, `change` applied, then an incremental on top of it; both only collected. */
  async function measure(root: RootDatabase, change: () => Promise<void>): Promise<Measured> {
    const full = await openPageSource(root);
    const fullStats = full.stats;
    await full.close();
    await change();
    const delta = await openPageSource(root, { baseTxnId: full.txnId });
    const deltaStats = delta.stats;
    await delta.close();
    return { full: fullStats, delta: deltaStats };
  }

  const DOCS = 40_000;

  async function fill(root: RootDatabase, valueSize: number, count = DOCS): Promise<void> {
    const docs = rawDb(root, { name: 'docs' });
    const rng = new Rng(99);
    await root.transaction(() => {
      for (let i = 0; i < count; i++) docs.put(key('doc:', i), seededBytes(() => rng.next(), valueSize));
    });
  }

  async function update(root: RootDatabase, ids: number[], valueSize: number): Promise<void> {
    const docs = rawDb(root, { name: 'docs' });
    const rng = new Rng(5);
    await root.transaction(() => {
      for (const i of ids) docs.put(key('doc:', i), seededBytes(() => rng.next(), valueSize));
    });
  }

  it('an unchanged environment costs two page reads', async () => {
    const root = ctx.open();
    await fill(root, 500);
    const { full, delta } = await measure(root, async () => undefined);
    expect(full.pagesToShip).toBeGreaterThan(5000);
    expect(delta.pagesToShip).toBe(0);
    expect(delta.pagesVisited).toBe(2); // the free-list root and the main root, both unchanged
  });

  it('1% of documents changed in one key range: a small fraction of pages visited and shipped', async () => {
    const root = ctx.open();
    await fill(root, 500);
    const ids = Array.from({ length: DOCS / 100 }, (_, i) => DOCS / 2 + i);
    const { full, delta } = await measure(root, () => update(root, ids, 500));
    expect(delta.pagesToShip / full.pagesToShip).toBeLessThan(0.05);
    expect(delta.pagesVisited / full.pagesToShip).toBeLessThan(0.1);
  });

  it('1% of big documents changed at random: overflow runs are skipped without reading them', async () => {
    const root = ctx.open();
    await fill(root, 9000, 4000);
    const rng = new Rng(3);
    const ids = Array.from({ length: 40 }, () => rng.int(0, 3999));
    const { full, delta } = await measure(root, () => update(root, ids, 9000));
    expect(delta.pagesToShip / full.pagesToShip).toBeLessThan(0.05);
    expect(delta.pagesVisited / full.pagesToShip).toBeLessThan(0.1);
    expect(delta.overflowRunsSkipped).toBeGreaterThan(1000);
  });

  it('1% of small documents changed at random: few pages parsed and shipped, unchanged leaves probed', async () => {
    const root = ctx.open();
    await fill(root, 1000);
    const rng = new Rng(4);
    const ids = Array.from({ length: DOCS / 100 }, () => rng.int(0, DOCS - 1));
    const { full, delta } = await measure(root, () => update(root, ids, 1000));
    const parsed = delta.pagesVisited - delta.headerProbes;
    expect(delta.pagesToShip / full.pagesToShip).toBeLessThan(0.05);
    expect(parsed / full.pagesToShip).toBeLessThan(0.05);
    // Scattered changes rewrite nearly every bottom branch page, and LMDB's branch nodes do not record their
    // child's txnid: each child of a changed branch is probed (a header-only read). That is bounded by the
    // branch fan-out per changed page, but here it touches most leaves.
    expect(delta.headerProbes).toBeGreaterThan(delta.pagesToShip);
    expect(delta.headerProbes).toBeLessThanOrEqual(full.pagesToShip);
  });
});
