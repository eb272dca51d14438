// The addon's snapshot seam itself (readMetaPages, openSnapshot, SnapshotHandle), on data files no LMDB library has
// open: hand-built data version 1 files (which lmdb-js cannot write), misuse of the raw handle, randomly damaged
// pages, batch sizing, and worker threads terminated with a walk in flight.
import { closeSync, copyFileSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { CorruptEnvError, ErrorCodes, IncrementalUnavailableError } from '../../src/errors.js';
import { Rng } from '../../src/generate/prng.js';
import {
  loadBinding,
  nativeOpenSnapshot,
  nativeReadMetaPages,
  type NativeSnapshotHandle,
  type RawPageBatch,
} from '../../src/native/binding.js';
import { buildSyntheticDataFile, syntheticLayout } from '../helpers/synthetic-env.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const ctx = useTmpEnv();
const ADDON = fileURLToPath(new URL('../../build/Release/pagevault_native.node', import.meta.url));

/** realFile: a closed lmdb-js environment's data file with named, dupSort and big-value databases. */
async function realFile(keys = 20_000): Promise<string> {
  const root = ctx.open({ maxDbs: 10 });
  const data = root.openDB({ name: 'data' });
  const dups = root.openDB({ name: 'dups', dupSort: true });
  await root.transaction(() => {
    for (let k = 0; k < keys; k++) data.put(`key-${k}`, { k, text: 'x'.repeat(k % 400) });
    for (let k = 0; k < 20; k++) data.put(`big-${k}`, 'y'.repeat(9000 + k * 100));
    for (let v = 0; v < 3000; v++) dups.put('many', `v${v}`);
    for (let v = 0; v < 4; v++) dups.put('few', `v${v}`);
  });
  await root.close();
  return join(ctx.dir, 'env', 'data.mdb');
}

function open(path: string, base = 0): NativeSnapshotHandle {
  const metas = loadBinding().readMetaPages(path);
  const txnId = metas.metas[metas.currentSlot]?.txnId ?? 0;
  return loadBinding().openSnapshot(path, metas.pages, txnId, base);
}

async function drain(handle: NativeSnapshotHandle, maxBytes: number): Promise<RawPageBatch[]> {
  const batches: RawPageBatch[] = [];
  for (let batch = await handle.nextBatch(maxBytes); batch !== null; batch = await handle.nextBatch(maxBytes)) {
    batches.push(batch);
  }
  return batches;
}

describe('snapshot handles on data version 1 files', () => {
  it('a full snapshot works; an incremental is INCREMENTAL_UNAVAILABLE', async () => {
    const path = join(ctx.dir, 'v1.mdb');
    writeFileSync(path, buildSyntheticDataFile({ dataVersion: 1, names: ['alpha', 'beta'], txnid: 9 }));
    const metas = nativeReadMetaPages(path);
    expect(metas).toMatchObject({ dataVersion: 1, pageHeaderSize: 16, pageSize: 4096, currentSlot: 1 });
    const handle = nativeOpenSnapshot(path, metas.pages, 9, 0);
    expect(handle.dataVersion).toBe(1);
    const stats = await handle.collect();
    expect(stats).toMatchObject({ pagesToShip: 1, runs: 1, databases: 4 }); // free, main, alpha, beta
    const batch = await handle.nextBatch(1 << 20);
    expect(Array.from(batch?.runs ?? [])).toEqual([2, 1]);
    expect(batch?.data.equals(readFileSync(path).subarray(8192, 12288))).toBe(true);
    expect(await handle.nextBatch(1 << 20)).toBeNull();
    expect(await handle.nextBatch(1 << 20)).toBeNull(); // stays at the end

    // Normalized v1 metas: txn 9 in both slots, page numbers 0 and 1, no flushed-meta handling.
    const layout = syntheticLayout({ dataVersion: 1 });
    for (const slot of [0, 1]) {
      const page = handle.metaPages.subarray(slot * 4096, (slot + 1) * 4096);
      expect(Number(page.readBigUInt64LE(0))).toBe(slot);
      expect(Number(page.readBigUInt64LE(layout.headerSize + 128))).toBe(9);
    }
    handle.close();

    expect(() => nativeOpenSnapshot(path, metas.pages, 9, 8)).toThrow(IncrementalUnavailableError);
    try {
      nativeOpenSnapshot(path, metas.pages, 9, 8);
    } catch (err) {
      expect((err as IncrementalUnavailableError).code).toBe(ErrorCodes.INCREMENTAL_UNAVAILABLE);
      expect((err as Error).message).toMatch(/data version 1/);
    }
  });

  it('CORRUPT_ENV when the pinned txn is not in its slot', () => {
    const path = join(ctx.dir, 'v2.mdb');
    writeFileSync(path, buildSyntheticDataFile({ dataVersion: 2, names: ['x'], txnid: 9 }));
    const metas = nativeReadMetaPages(path);
    expect(() => nativeOpenSnapshot(path, metas.pages, 10, 0)).toThrow(CorruptEnvError);
    expect(() => nativeOpenSnapshot(path, metas.pages, 7, 0)).toThrow(/holds txn 9, not the pinned txn 7/);
    expect(() => nativeOpenSnapshot(path, metas.pages.subarray(0, 5000), 9, 0)).toThrow(CorruptEnvError);
  });
});

describe('the raw snapshot handle', () => {
  it('refuses misuse without crashing', async () => {
    const path = await realFile(2000);
    const binding = loadBinding();
    const metas = binding.readMetaPages(path);
    const txnId = metas.metas[metas.currentSlot]?.txnId ?? 0;
    expect(() => binding.openSnapshot(path, metas.pages, txnId + 1, txnId + 2)).toThrow(RangeError);
    expect(() => binding.openSnapshot(path, metas.pages, -1, 0)).toThrow(TypeError);
    expect(() => binding.openSnapshot(path, metas.pages, 1.5, 0)).toThrow(TypeError);
    expect(() => binding.openSnapshot(path, 'pages' as never, txnId, 0)).toThrow(TypeError);
    expect(() => binding.openSnapshot('', metas.pages, txnId, 0)).toThrow(TypeError);
    expect(() => binding.readMetaPages('a\0b')).toThrow(TypeError);

    const handle = binding.openSnapshot(path, metas.pages, txnId, 0);
    const Ctor = (handle as unknown as { constructor: new (...args: unknown[]) => unknown }).constructor;
    expect(() => new Ctor()).toThrow(TypeError);
    expect(() => new Ctor({})).toThrow(TypeError);
    expect(() => handle.collect.call({})).toThrow();
    expect(() => handle.nextBatch(4096)).toThrow(/collect\(\) has not completed/);
    const collecting = handle.collect();
    expect(() => handle.collect()).toThrow(/already called/);
    expect(() => handle.nextBatch(4096)).toThrow(/pending/);
    await collecting;
    const pending = handle.nextBatch(4096);
    expect(() => handle.nextBatch(4096)).toThrow(/pending/);
    await pending;
    expect(() => handle.nextBatch(-1)).toThrow(TypeError);
    handle.close();
    handle.close();
    expect(() => handle.nextBatch(4096)).toThrow(/closed/);
    expect(handle.stats().pagesShipped).toBe(1);
  });

  it('splits runs across batches of any size, in ascending order, with the same bytes', async () => {
    const path = await realFile(5000);
    const file = readFileSync(path);
    for (const maxBytes of [1, 4096, 10_000, 64 * 1024, 1 << 24]) {
      const handle = open(path);
      const stats = await handle.collect();
      const batches = await drain(handle, maxBytes);
      let pages = 0;
      let next = 2;
      for (const batch of batches) {
        expect(batch.data.length).toBeLessThanOrEqual(Math.max(maxBytes, 4096));
        let offset = 0;
        for (let i = 0; i < batch.runs.length; i += 2) {
          const first = batch.runs[i] ?? 0;
          const count = batch.runs[i + 1] ?? 0;
          expect(first).toBeGreaterThanOrEqual(next);
          const bytes = batch.data.subarray(offset, offset + count * 4096);
          expect(bytes.equals(file.subarray(first * 4096, (first + count) * 4096))).toBe(true);
          offset += count * 4096;
          pages += count;
          next = first + count;
        }
        expect(offset).toBe(batch.data.length);
      }
      expect(pages).toBe(stats.pagesToShip);
      expect(handle.stats()).toMatchObject({ pagesShipped: pages, batches: batches.length });
      handle.close();
    }
  });

  it('close() during a walk rejects it with ABORTED', async () => {
    const path = await realFile(60_000);
    let aborted = 0;
    for (let round = 0; round < 20; round++) {
      const handle = nativeOpenSnapshot(path, nativeReadMetaPages(path).pages, open(path).txnId, 0);
      const collecting = handle.collect();
      handle.close();
      const outcome = await collecting.then(
        () => 'done',
        (err: { code?: string }) => err.code,
      );
      expect(['done', ErrorCodes.ABORTED]).toContain(outcome);
      if (outcome === ErrorCodes.ABORTED) aborted += 1;
    }
    expect(aborted).toBeGreaterThan(0);
  });
});

describe('randomly damaged pages', () => {
  it('resolve or reject with CORRUPT_ENV, whatever bytes of which pages are damaged', async () => {
    const pristine = await realFile(3000);
    const handle = open(pristine);
    await handle.collect();
    const shipped: number[] = [];
    for (const batch of await drain(handle, 1 << 24)) {
      for (let i = 0; i < batch.runs.length; i += 2) {
        for (let p = 0; p < (batch.runs[i + 1] ?? 0); p++) shipped.push((batch.runs[i] ?? 0) + p);
      }
    }
    handle.close();
    const rng = new Rng(77);
    const copy = join(ctx.dir, 'damaged.mdb');
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 300; round++) {
      copyFileSync(pristine, copy);
      const fd = openSync(copy, 'r+');
      try {
        const page = rng.pick(shipped);
        for (let n = rng.int(1, 6); n > 0; n--) {
          // Mostly the header and the slot array, where structure lives; sometimes anywhere in the page.
          const offset = rng.chance(0.7) ? rng.int(0, 80) : rng.int(0, 4095);
          writeSync(fd, Buffer.from([rng.int(0, 255)]), 0, 1, page * 4096 + offset);
        }
      } finally {
        closeSync(fd);
      }
      const damaged = open(copy);
      const outcome = await damaged.collect().then(
        async () => {
          await drain(damaged, 1 << 20);
          return 'ok';
        },
        (err: { code?: string }) => String(err.code),
      );
      damaged.close();
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect([...outcomes.keys()].every((o) => o === 'ok' || o === ErrorCodes.CORRUPT_ENV)).toBe(true);
    expect(outcomes.get(ErrorCodes.CORRUPT_ENV)).toBeGreaterThan(100);
  });
});

describe('snapshot handles in worker threads', () => {
  // Plain CommonJS so the worker needs no TypeScript loader: open snapshots, start walks and batches, report.
  const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.addon);
const metas = addon.readMetaPages(workerData.path);
const txnId = metas.metas[metas.currentSlot].txnId;
for (let i = 0; i < 8; i++) {
  const handle = addon.openSnapshot(workerData.path, metas.pages, txnId, 0);
  handle.collect().then(
    () => handle.nextBatch(1 << 16).then((b) => parentPort.postMessage({ pages: b ? b.data.length : 0 })),
    (err) => parentPort.postMessage({ error: err.code || String(err) }),
  );
}
parentPort.postMessage('started');
`;

  it('survives workers terminated with walks and batches in flight', async () => {
    const path = await realFile(60_000);
    for (let round = 0; round < 8; round++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { addon: ADDON, path } });
      await new Promise((resolve) => worker.once('message', resolve));
      if (round % 2 === 1) await new Promise((resolve) => setTimeout(resolve, 20 * round));
      // 1 when terminated mid-work; 0 or undefined when the worker had already finished and exited on its own
      // (which of the two depends on timing). What matters is that this process is still alive to check.
      expect([0, 1, undefined]).toContain(await worker.terminate());
    }
    const handle = open(path);
    expect((await handle.collect()).pagesToShip).toBeGreaterThan(1000);
    handle.close();
  });
});
