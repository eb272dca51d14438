// The threaded native JSON export (native/export_parallel.h) against the single cursor: for every database shape
// (hundreds of leaf pages of small entries, overflow values, dupSort sub-pages and sub-databases, a root that is a
// leaf, empty databases, several databases and the root store in one export), the batches of 1, 2 and 4 threads,
// with ranges from one leaf page up to the default size, concatenate to exactly the single cursor's bytes. Also:
// whole lines per batch at tiny maxBytes, close() while threads fill ahead, and a damaged leaf page in a later range
// failing the batch that reaches it after the earlier ranges' lines.
import { cpSync, closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { type RootDatabase } from 'lmdb';
import { describe, expect, it } from 'vitest';

import { ErrorCodes } from '../../src/errors.js';
import { nativeEnvInfo, nativeOpenExport, type ExportDbSpec, type ExportOptions } from '../../src/native/binding.js';
import { pinSnapshot } from '../../src/snapshot/pin.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const ctx = useTmpEnv();

const spec = (name: string | null, extra: Partial<ExportDbSpec> = {}): ExportDbSpec => ({
  name,
  prefix: `{"db":${JSON.stringify(name)},"k":`,
  keyMode: 'string',
  valueMode: 'msgpack',
  ...extra,
});

interface Exported {
  text: Buffer;
  batches: Buffer[];
  entries: number;
  fallbacks: number;
}

/** exportWith: every batch of one export of `dbs` from an already pinned snapshot, checked against the stats. */
async function exportWith(
  pinned: Awaited<ReturnType<typeof pinSnapshot>>,
  dbs: ExportDbSpec[],
  maxBytes: number,
  options: ExportOptions,
): Promise<Exported> {
  const handle = nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, dbs, options);
  const batches: Buffer[] = [];
  let entries = 0;
  let fallbacks = 0;
  try {
    for (let b = await handle.nextBatch(maxBytes); b !== null; b = await handle.nextBatch(maxBytes)) {
      batches.push(b.data);
      entries += b.entries;
      fallbacks += b.fallbacks;
    }
    expect(await handle.nextBatch(maxBytes)).toBeNull();
    const stats = handle.stats();
    expect(stats.entries).toBe(entries);
    expect(stats.fallbacks).toBe(fallbacks);
    expect(stats.bytes).toBe(batches.reduce((n, b) => n + b.length, 0));
    expect(stats.batches).toBe(batches.length);
  } finally {
    handle.close();
  }
  return { text: Buffer.concat(batches), batches, entries, fallbacks };
}

/** lineCount: the '\n' bytes of `buf`. */
function lineCount(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * expectSameAsSingle: exports `dbs` on 1 thread, then on 2 and 4 threads with each range size and maxBytes, and
 * expects the same bytes, entries and fallbacks; every batch is whole lines, at least maxBytes unless it is the last,
 * and past maxBytes by at most one line. Returns the single-thread export.
 */
async function expectSameAsSingle(
  root: RootDatabase,
  dbs: ExportDbSpec[],
  { maxBytes = [1 << 22, 4096], rangeLeafPages = [1, 3, 40, undefined] as (number | undefined)[] } = {},
): Promise<Exported> {
  const pinned = await pinSnapshot(root);
  try {
    const single = await exportWith(pinned, dbs, 1 << 22, { threads: 1 });
    for (const threads of [2, 4]) {
      for (const leaves of rangeLeafPages) {
        for (const max of maxBytes) {
          const label = `threads ${threads}, rangeLeafPages ${String(leaves)}, maxBytes ${max}`;
          const out = await exportWith(pinned, dbs, max, leaves === undefined ? { threads } : { threads, rangeLeafPages: leaves });
          expect(out.text.equals(single.text), label).toBe(true);
          expect(out.entries, label).toBe(single.entries);
          expect(out.fallbacks, label).toBe(single.fallbacks);
          out.batches.forEach((batch, i) => {
            expect(batch[batch.length - 1], label).toBe(0x0a);
            const last = i === out.batches.length - 1;
            if (!last) expect(batch.length, label).toBeGreaterThanOrEqual(max);
            // Dropping the last line leaves less than maxBytes.
            const before = batch.lastIndexOf(10, batch.length - 2) + 1;
            expect(before, label).toBeLessThan(Math.max(max, 1));
          });
          expect(out.batches.reduce((n, b) => n + lineCount(b), 0), label).toBe(single.entries);
        }
      }
    }
    return single;
  } finally {
    pinned.release();
  }
}

/** depthOf: the named database's depth in the environment's current state. */
async function depthOf(path: string, name: string): Promise<number> {
  const info = await nativeEnvInfo(path);
  const db = info.namedDatabases?.find((d) => d.name === name);
  if (!db) throw new Error(`no database ${name}`);
  return db.depth;
}

describe('threaded native JSON export: the same bytes as one thread', () => {
  it('hundreds of leaf pages of small entries (a three-level tree), cut at every level', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const db = root.openDB({ name: 'small' });
    await root.transaction(() => {
      for (let i = 0; i < 40_000; i++) db.put(`k${String(i).padStart(6, '0')}`, { i, s: `value ${i}`, even: i % 2 === 0 });
    });
    expect(await depthOf(join(ctx.dir, 'env'), 'small')).toBeGreaterThanOrEqual(3);
    const single = await expectSameAsSingle(root, [spec('small')], { rangeLeafPages: [1, 2, 7, 60, 5000, undefined] });
    expect(single.entries).toBe(40_000);
  });

  it('big overflow values between small ones, and values JSON cannot carry (fallbacks split across ranges)', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const db = root.openDB({ name: 'big' });
    await root.transaction(() => {
      for (let i = 0; i < 3000; i++) {
        const key = `b${String(i).padStart(5, '0')}`;
        if (i % 37 === 0) db.put(key, { blob: 'x'.repeat(5000 + (i % 7) * 9000), i });
        else if (i % 11 === 0) db.put(key, new Map([[i, 'number-keyed map: the mp fallback']]));
        else db.put(key, { i, text: 't'.repeat(i % 400) });
      }
    });
    const single = await expectSameAsSingle(root, [spec('big')], { maxBytes: [1 << 22, 4096, 1] });
    expect(single.fallbacks).toBeGreaterThan(200);
  });

  it('dupSort: single values, sub-pages and sub-databases under hundreds of main-tree pages', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const dups = root.openDB({ name: 'dups', dupSort: true });
    await root.transaction(() => {
      for (let k = 0; k < 4000; k++) {
        const key = `d${String(k).padStart(5, '0')}`;
        const values = k % 500 === 0 ? 1500 : k % 3 === 0 ? 1 : (k % 9) + 2;
        for (let v = 0; v < values; v++) dups.put(key, `value ${v} of ${key}`);
      }
    });
    const single = await expectSameAsSingle(root, [spec('dups')]);
    expect(single.entries).toBeGreaterThan(4000 + 8 * 1500);
  });

  it('a root that is a leaf, empty databases, and several databases with the root store in one export', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const tiny = root.openDB({ name: 'tiny' });
    root.openDB({ name: 'empty' });
    const many = root.openDB({ name: 'many' });
    const ints = root.openDB({ name: 'ints', keyEncoding: 'uint32' });
    await root.transaction(() => {
      for (let i = 0; i < 5; i++) tiny.put(`t${i}`, i);
      for (let i = 0; i < 8000; i++) many.put(`m${i}`, { i, pad: 'p'.repeat(i % 90) });
      for (let i = 0; i < 6000; i++) ints.put(i * 3, [i, `${i}`]);
      for (let i = 0; i < 3000; i++) root.put(`root${i}`, { r: i });
    });
    expect(await depthOf(join(ctx.dir, 'env'), 'tiny')).toBe(1);
    const dbs = [
      spec('tiny'),
      spec('empty'),
      spec('many'),
      spec(null),
      spec('empty', { prefix: '{"again":1,"k":' }),
      spec('ints', { keyMode: 'uint32' }),
      spec('tiny', { prefix: '{"tiny-again":1,"k":' }),
    ];
    const single = await expectSameAsSingle(root, dbs);
    expect(single.entries).toBe(5 + 8000 + 3000 + 6000 + 5);
  });

  it('a root leaf alone and an empty database alone (fewer ranges than threads)', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const tiny = root.openDB({ name: 'tiny' });
    root.openDB({ name: 'empty' });
    await root.transaction(() => {
      tiny.put('only', 'one');
    });
    expect((await expectSameAsSingle(root, [spec('tiny')])).entries).toBe(1);
    expect((await expectSameAsSingle(root, [spec('empty')])).text.length).toBe(0);
    expect((await expectSameAsSingle(root, [])).text.length).toBe(0);
  });
});

describe('threaded native JSON export: cancellation and errors', () => {
  it('close() mid-export: a pending batch rejects with ABORTED or settles, the handle refuses further calls', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const db = root.openDB({ name: 'docs' });
    await root.transaction(() => {
      for (let i = 0; i < 60_000; i++) db.put(`doc${i}`, { i, text: 'some text to transcode, some more text' });
    });
    const pinned = await pinSnapshot(root);
    try {
      for (const afterBatches of [0, 1, 3]) {
        const handle = nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, [spec('docs')], {
          threads: 3,
          rangeLeafPages: 8,
        });
        for (let i = 0; i < afterBatches; i++) expect(await handle.nextBatch(4096)).not.toBeNull();
        // With a batch pending (workers running) or not (workers waiting on full queues).
        const pending = afterBatches === 1 ? undefined : handle.nextBatch(1 << 30);
        const started = process.hrtime.bigint();
        handle.close();
        handle.close();
        if (pending) {
          const outcome = await pending.then(
            (b) => (b === null ? 'null' : 'batch'),
            (err: unknown) => (err as { code?: string }).code,
          );
          expect(['batch', ErrorCodes.ABORTED]).toContain(outcome);
        }
        expect(Number(process.hrtime.bigint() - started) / 1e9).toBeLessThan(2);
        await expect(handle.nextBatch(1)).rejects.toThrow(/closed/);
      }
    } finally {
      pinned.release();
    }
  });

  it('rejects bad thread counts', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    root.openDB({ name: 'docs' });
    const pinned = await pinSnapshot(root);
    try {
      for (const threads of [0, 65, 1.5, Number.NaN]) {
        expect(() => nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, [spec('docs')], { threads })).toThrow(
          RangeError,
        );
      }
    } finally {
      pinned.release();
    }
  });

  it('a damaged leaf page in a later range fails the batch that reaches it, after the earlier ranges\' lines', async () => {
    let root = ctx.open({ maxDbs: 10, noSubdir: false });
    let db = root.openDB({ name: 'docs' });
    await root.transaction(() => {
      for (let i = 0; i < 20_000; i++) db.put(`row${String(i).padStart(6, '0')}`, { i, body: 'b'.repeat(60) });
    });
    const first = await pinSnapshot(root);
    const { pageSize, pageHeaderSize } = first.metas;
    let clean: Buffer;
    try {
      clean = (await exportWith(first, [spec('docs')], 1 << 22, { threads: 1 })).text;
    } finally {
      first.release();
    }
    await root.close();
    // Damage a copy: the page number in the header of the leaf holding row015000 (its key is stored as plain bytes).
    cpSync(join(ctx.dir, 'env'), join(ctx.dir, 'copy'), { recursive: true });
    const dataPath = join(ctx.dir, 'copy', 'data.mdb');
    const bytes = readFileSync(dataPath);
    let damaged = -1;
    for (let at = bytes.indexOf('row015000'); at !== -1 && damaged < 0; at = bytes.indexOf('row015000', at + 1)) {
      const page = Math.floor(at / pageSize);
      if ((bytes.readUInt16LE(page * pageSize + pageHeaderSize - 6) & 0x02) !== 0) damaged = page;  // a leaf page
    }
    expect(damaged).toBeGreaterThan(1);
    const fd = openSync(dataPath, 'r+');
    try {
      writeSync(fd, Buffer.alloc(8, 0xee), 0, 8, damaged * pageSize);
    } finally {
      closeSync(fd);
    }
    root = ctx.open({ path: 'copy', maxDbs: 10, noSubdir: false });
    db = root.openDB({ name: 'docs' });
    const pinned = await pinSnapshot(root);
    try {
      for (const options of [{ threads: 1 }, { threads: 2, rangeLeafPages: 4 }, { threads: 4, rangeLeafPages: 1 }]) {
        const handle = nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, [spec('docs')], options);
        const got: Buffer[] = [];
        let error: unknown;
        try {
          for (let b = await handle.nextBatch(2048); b !== null; b = await handle.nextBatch(2048)) got.push(b.data);
        } catch (err) {
          error = err;
        } finally {
          handle.close();
        }
        expect(error, JSON.stringify(options)).toMatchObject({ code: ErrorCodes.CORRUPT_ENV });
        const text = Buffer.concat(got);
        // What came before the failure is the clean export's beginning, and stops before the damaged page's rows.
        expect(clean.subarray(0, text.length).equals(text)).toBe(true);
        expect(text.includes('"row015000"')).toBe(false);
        expect(text.length).toBeGreaterThan(clean.length / 2);
      }
    } finally {
      pinned.release();
    }
  });
});
