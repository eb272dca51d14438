// pinSnapshot: T is the last commit and its meta slot holds it, the pinned reader is registered with lmdb-js, and
// every page reachable from T keeps its bytes while another process writes hard (and stops doing so once released).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { nativeOpenSnapshot } from '../../src/native/binding.js';
import { envInfo } from '../../src/snapshot/env-info.js';
import { pinSnapshot, type PinnedSnapshot } from '../../src/snapshot/pin.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { lastTxnId, rawDb, readerSlots, runNode, seededBytes, sleep } from './support.js';

const ctx = useTmpEnv('pagevault-pin-');
const WRITER = fileURLToPath(new URL('./fixtures/hard-writer.mjs', import.meta.url));

/** readReachable: every page reachable from the pinned T (page number -> bytes), read with a fresh native handle. */
async function readReachable(pinned: PinnedSnapshot): Promise<Map<number, Buffer>> {
  const handle = nativeOpenSnapshot(pinned.dataPath, pinned.metas.pages, pinned.txnId, 0);
  try {
    await handle.collect();
    const pages = new Map<number, Buffer>();
    for (let batch = await handle.nextBatch(1 << 20); batch !== null; batch = await handle.nextBatch(1 << 20)) {
      let offset = 0;
      for (let i = 0; i < batch.runs.length; i += 2) {
        for (let p = 0; p < (batch.runs[i + 1] ?? 0); p++) {
          pages.set((batch.runs[i] ?? 0) + p, batch.data.subarray(offset, offset + handle.pageSize));
          offset += handle.pageSize;
        }
      }
    }
    return pages;
  } finally {
    handle.close();
  }
}

function ours(slots: ReturnType<typeof readerSlots>, txnId: number): number {
  return slots.filter((s) => s.pid === process.pid && s.txnid === String(txnId)).length;
}

describe('pinSnapshot', () => {
  it('pins the last commit, whose meta slot holds it', async () => {
    const root = ctx.open();
    for (let i = 0; i < 5; i++) await root.put(`k${i}`, i);
    const pinned = await pinSnapshot(root);
    try {
      expect(pinned.txnId).toBe(lastTxnId(root));
      expect(pinned.txnId).toBe((await envInfo(join(ctx.dir, 'env'))).lastTxnId);
      expect(pinned.metas.metas[pinned.txnId % 2]?.txnId).toBe(pinned.txnId);
      expect(pinned.metas.pages.length).toBe(2 * pinned.metas.pageSize);
      expect(pinned.dataPath).toBe(join(ctx.dir, 'env', 'data.mdb'));
      expect(ours(readerSlots(root), pinned.txnId)).toBe(1);
      expect(root.get('k3', { transaction: pinned.transaction })).toBe(3);
    } finally {
      pinned.release();
    }
    pinned.release(); // idempotent
    expect(pinned.released).toBe(true);
    expect(ours(readerSlots(root), pinned.txnId)).toBe(0);
  });

  it('keeps every page reachable from T unchanged while another process writes, until released', async () => {
    const envDir = join(ctx.dir, 'env');
    const root = ctx.open({ maxDbs: 20 });
    const data = rawDb(root, { name: 'data' });
    rawDb(root, { name: 'big' });
    rawDb(root, { name: 'dups', dupSort: true });
    let seed = 3;
    await root.transaction(() => {
      for (let k = 0; k < 4000; k++) {
        const value = seededBytes(() => (seed = (seed * 69069 + 1) >>> 0), 300);
        data.put(Buffer.from(`k${String(k).padStart(6, '0')}`), value);
      }
    });
    // 9 s: long enough that the writer still runs during the control below, on a slow or busy machine too.
    const writer = runNode(WRITER, [envDir, '7000', '9']);
    await writer.ready;
    await sleep(200);

    const pinned = await pinSnapshot(root);
    let before: Map<number, Buffer>;
    try {
      expect(pinned.metas.metas[pinned.txnId % 2]?.txnId).toBe(pinned.txnId);
      before = await readReachable(pinned);
      await sleep(1500); // the writer commits hundreds of transactions, recycling every free page it can
      expect(lastTxnId(root)).toBeGreaterThan(pinned.txnId + 100);
      const after = await readReachable(pinned);
      expect([...after.keys()]).toEqual([...before.keys()]);
      for (const [pgno, page] of before) {
        if (!page.equals(after.get(pgno) ?? Buffer.alloc(0))) throw new Error(`page ${pgno} changed while pinned`);
      }
      expect(ours(readerSlots(root), pinned.txnId)).toBe(1);
    } finally {
      pinned.release();
    }

    // Control: once released, the writer reuses T's pages, so reading T again no longer works (or gives other bytes).
    // Reuse waits for lmdb-js's flushed snapshot to move past T as well (overlappingSync), so poll for it.
    let recycled = false;
    for (let attempt = 0; attempt < 20 && !recycled; attempt++) {
      await sleep(250);
      recycled = await readReachable(pinned).then(
        (pages) => [...before].some(([pgno, page]) => !page.equals(pages.get(pgno) ?? Buffer.alloc(0))),
        () => true,
      );
    }
    expect(recycled).toBe(true);
    await writer.done;
  });

  it('leaves nothing pinned when the writer lock cannot be taken', async () => {
    const root = ctx.open();
    await root.put('a', 1);
    await root.close();
    const readOnly = ctx.open({ readOnly: true });
    await expect(pinSnapshot(readOnly)).rejects.toThrow();
    expect(readerSlots(readOnly).filter((s) => s.pid === process.pid && s.txnid !== '-')).toHaveLength(0);
    await expect(pinSnapshot({} as never)).rejects.toThrow(TypeError);
  });
});
