/**
 * An export taken while `pagevault load` writes hard in another process is the database as
 * of one transaction: the native cursor's lines equal what lmdb-js reads through the same
 * pinned read transaction, even though thousands of commits land while it runs.
 */
import { resolve, join } from 'node:path';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/generate/generate.js';
import { createJsonExport, openExportStores } from '../../src/json/export.js';
import { readRecords, type DocRecord, type TombstoneRecord } from '../../src/json/records.js';
import { fromJsonValue } from '../../src/json/value-json.js';
import { envInfo } from '../../src/snapshot/env-info.js';
import { pinSnapshot } from '../../src/snapshot/pin.js';
import { runNode } from '../helpers/run-node.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv('pv-json-load-');
const BIN = resolve(__dirname, '../../bin/pagevault.js');

describe('JSON export under load', () => {
  it('exports exactly the pinned snapshot while another process commits', async () => {
    const path = join(tmp.dir, 'db');
    await generateDataset({ path, docs: 20_000, seed: 'json-load', threads: 0 });
    const load = runNode(BIN, ['load', '--db', path, '--writes-per-sec', '0', '--duration', '4', '--quiet'], false);
    await new Promise((r) => setTimeout(r, 700));
    const info = await envInfo(path);
    const env = open({ path, noSubdir: false, maxDbs: (info.namedDatabaseCount ?? 0) + 8 });
    try {
      const stores = openExportStores(env, info);
      const pinned = await pinSnapshot(env);
      try {
        const before = (await envInfo(path)).lastTxnId;
        // Small batches: the export spans many round trips while the writer commits.
        const exporter = createJsonExport(pinned, info, stores, { name: 'load', batchBytes: 64 * 1024 });
        const docs: Array<[string, unknown]> = [];
        const tombstones: Array<[number, unknown]> = [];
        let header;
        for await (const { record } of readRecords(exporter.chunks())) {
          if (record.t === 'header') header = record;
          else if (record.t === 'doc') docs.push([(record as DocRecord).id, fromJsonValue((record as DocRecord).v)]);
          else if (record.t === 'tombstone') tombstones.push([(record as TombstoneRecord).etag, fromJsonValue((record as TombstoneRecord).v)]);
        }
        const after = (await envInfo(path)).lastTxnId;
        expect(after - before).toBeGreaterThan(20); // the writer really committed meanwhile
        const txn = { transaction: pinned.transaction };
        expect(header).toMatchObject({ txnId: pinned.txnId, lastEtag: stores.meta!.get('lastEtag', txn as never) });
        expect(docs).toEqual([...stores.docs!.getRange(txn)].map(({ key, value }) => [key, value]));
        expect(tombstones).toEqual([...stores.tombstones!.getRange(txn)].map(({ key, value }) => [key, value]));
        expect(exporter.stats.docs).toBe(docs.length);
      } finally {
        pinned.release();
      }
    } finally {
      await env.close();
    }
    const lines = await load.done;
    expect(lines.join('\n')).toMatch(/\d/);
  }, 120_000);
});
