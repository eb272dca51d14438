// export-throughput: prints (never asserts) the native JSON export's entries/s and MB/s on a database, beside lmdb-js
// getRange + JSON.stringify on the same snapshot. Not part of `npm test` (vitest only collects test/**):
//
//   node bin/pagevault.js generate --db /tmp/pv-bench --docs 200k
//   PV_EXPORT_DB=/tmp/pv-bench npx vitest run -c native/scripts/vitest.scripts.config.ts export-throughput
//
// PV_EXPORT_NAME picks the named database (default @docs), PV_EXPORT_BATCH the batch size in bytes (default 4 MiB).
// Both passes run twice and the second is reported, so both see a warm page cache.
import { open } from 'lmdb';
import { it } from 'vitest';

import { nativeOpenExport } from '../../src/native/binding.js';
import { pinSnapshot } from '../../src/snapshot/pin.js';

const path = process.env.PV_EXPORT_DB;
const name = process.env.PV_EXPORT_NAME ?? '@docs';
const batchBytes = Number(process.env.PV_EXPORT_BATCH ?? 4 << 20);

it.skipIf(path === undefined)(`native export throughput of ${name}`, async () => {
  const root = open({ path: path as string, noSubdir: false, maxDbs: 64 });
  const db = root.openDB({ name });
  const pinned = await pinSnapshot(root);
  try {
    const prefix = `{"t":"entry","db":${JSON.stringify(name)},"k":`;
    for (let round = 1; round <= 2; round++) {
      let started = process.hrtime.bigint();
      const handle = nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, [
        { name, prefix, keyMode: 'string', valueMode: 'msgpack' },
      ]);
      let bytes = 0;
      let entries = 0;
      let fallbacks = 0;
      for (let b = await handle.nextBatch(batchBytes); b !== null; b = await handle.nextBatch(batchBytes)) {
        bytes += b.data.length;
        entries += b.entries;
        fallbacks += b.fallbacks;
      }
      handle.close();
      let seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const native = { entries, fallbacks, seconds, entriesPerSec: entries / seconds, mbPerSec: bytes / 1e6 / seconds };

      started = process.hrtime.bigint();
      let naiveBytes = 0;
      let naiveEntries = 0;
      for (const { key, value } of db.getRange({ transaction: pinned.transaction } as never)) {
        naiveBytes += Buffer.byteLength(`${prefix}${JSON.stringify(key)},"v":${JSON.stringify(value)}}\n`);
        naiveEntries++;
      }
      seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const naive = { entries: naiveEntries, seconds, entriesPerSec: naiveEntries / seconds, mbPerSec: naiveBytes / 1e6 / seconds };
      if (round === 2) {
        console.log(
          `${name}: native ${native.entries} entries (${native.fallbacks} fallbacks) in ${native.seconds.toFixed(3)} s = ` +
            `${Math.round(native.entriesPerSec)} entries/s, ${native.mbPerSec.toFixed(1)} MB/s of NDJSON; ` +
            `getRange+JSON.stringify ${Math.round(naive.entriesPerSec)} entries/s, ${naive.mbPerSec.toFixed(1)} MB/s; ` +
            `ratio ${(native.entriesPerSec / naive.entriesPerSec).toFixed(1)}x`,
        );
      }
    }
  } finally {
    pinned.release();
    await root.close();
  }
}, 600_000);
