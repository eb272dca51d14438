// export-throughput: prints (never asserts) the native JSON export's entries/s and MB/s on a database, beside lmdb-js
// getRange + JSON.stringify on the same snapshot. Not part of `npm test` (vitest only collects test/**):
//
//   node bin/pagevault.js generate --db /tmp/pv-bench --docs 200k
//   PV_EXPORT_DB=/tmp/pv-bench npx vitest run -c native/scripts/vitest.scripts.config.ts export-throughput
//
// PV_EXPORT_NAME picks the named database (default @docs), PV_EXPORT_BATCH the batch size in bytes (default 4 MiB),
// PV_EXPORT_THREADS the native thread counts to compare (default 1,2), PV_EXPORT_NAIVE=0 skips the lmdb-js pass.
// Every pass runs twice and the second is reported, so all see a warm page cache.
import { open } from 'lmdb';
import { it } from 'vitest';

import { nativeOpenExport } from '../../src/native/binding.js';
import { pinSnapshot } from '../../src/snapshot/pin.js';

const path = process.env.PV_EXPORT_DB;
const name = process.env.PV_EXPORT_NAME ?? '@docs';
const batchBytes = Number(process.env.PV_EXPORT_BATCH ?? 4 << 20);
const threadCounts = (process.env.PV_EXPORT_THREADS ?? '1,2').split(',').map(Number);
const naivePass = process.env.PV_EXPORT_NAIVE !== '0';

interface Pass {
  entries: number;
  fallbacks: number;
  seconds: number;
  entriesPerSec: number;
  mbPerSec: number;
}

const rate = (p: Pass) => `${Math.round(p.entriesPerSec)} entries/s, ${p.mbPerSec.toFixed(1)} MB/s`;

it.skipIf(path === undefined)(`native export throughput of ${name}`, async () => {
  const root = open({ path: path as string, noSubdir: false, maxDbs: 64 });
  const db = root.openDB({ name });
  const pinned = await pinSnapshot(root);
  try {
    const prefix = `{"t":"entry","db":${JSON.stringify(name)},"k":`;
    for (let round = 1; round <= 2; round++) {
      const native = new Map<number, Pass>();
      for (const threads of threadCounts) {
        const started = process.hrtime.bigint();
        const handle = nativeOpenExport(
          pinned.dataPath,
          pinned.metas.pages,
          pinned.txnId,
          [{ name, prefix, keyMode: 'string', valueMode: 'msgpack' }],
          { threads },
        );
        let bytes = 0;
        let entries = 0;
        let fallbacks = 0;
        for (let b = await handle.nextBatch(batchBytes); b !== null; b = await handle.nextBatch(batchBytes)) {
          bytes += b.data.length;
          entries += b.entries;
          fallbacks += b.fallbacks;
        }
        handle.close();
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        native.set(threads, { entries, fallbacks, seconds, entriesPerSec: entries / seconds, mbPerSec: bytes / 1e6 / seconds });
      }

      let naive: Pass | undefined;
      if (naivePass) {
        const started = process.hrtime.bigint();
        let naiveBytes = 0;
        let naiveEntries = 0;
        for (const { key, value } of db.getRange({ transaction: pinned.transaction } as never)) {
          naiveBytes += Buffer.byteLength(`${prefix}${JSON.stringify(key)},"v":${JSON.stringify(value)}}\n`);
          naiveEntries++;
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        naive = { entries: naiveEntries, fallbacks: 0, seconds, entriesPerSec: naiveEntries / seconds, mbPerSec: naiveBytes / 1e6 / seconds };
      }
      if (round === 2) {
        const single = native.get(threadCounts[0] as number) as Pass;
        for (const [threads, pass] of native) {
          console.log(
            `${name}: native, ${threads} thread(s): ${pass.entries} entries (${pass.fallbacks} fallbacks) in ` +
              `${pass.seconds.toFixed(3)} s = ${rate(pass)} of NDJSON` +
              (pass === single ? '' : `; ${(pass.entriesPerSec / single.entriesPerSec).toFixed(2)}x ${threadCounts[0]} thread(s)`) +
              (naive ? `; ${(pass.entriesPerSec / naive.entriesPerSec).toFixed(1)}x getRange+JSON.stringify` : ''),
          );
        }
        if (naive) console.log(`${name}: getRange+JSON.stringify ${rate(naive)}`);
      }
    }
  } finally {
    pinned.release();
    await root.close();
  }
}, 600_000);
