/**
 * index-worker: the read side of an index rebuild, on a worker thread. It scans `@docs` of
 * the environment at `path` in key order (one read transaction: one consistent state),
 * computes every index key of every document with the same `indexKeysFor` live writes
 * use, and posts batches of ready-to-put bytes: the key as lmdb-js's ordered-binary writes
 * it, and the document id as the index database's ordered-binary value. The main thread
 * only puts them (index-builder.ts), so decoding documents, the bulk of a rebuild, runs
 * beside the writes on the second core.
 *
 * Messages out: { type: 'batch', docs, data, offsets, which } per `batchDocs` documents, with
 * `offsets` = [keyStart, keyEnd, valueStart, valueEnd] per entry into `data` and `which`
 * the index number per entry (buffers transferred); { type: 'done' }; { type: 'error',
 * message }. Messages in: { type: 'credit' } after each batch is applied: at most
 * MAX_AHEAD batches are outstanding, so memory stays bounded; { type: 'stop' } ends the scan
 * early. The worker closes its environment before it reports 'done' or 'error' and then
 * exits on its own: terminating a thread while lmdb-js closes an environment aborts the
 * process (seen in CI), so the main thread never terminates a running worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { open } from 'lmdb';
import { writeKey } from 'ordered-binary';
import { indexKeysFor } from '../docdb/index-keys.js';
import type { IndexDefinition, StoredDocument } from '../docdb/layout.js';

/** IndexWorkerInit: workerData of an index worker. */
export interface IndexWorkerInit {
  path: string;
  defs: IndexDefinition[];
  maxDbs: number;
  batchDocs: number;
}

const MAX_AHEAD = 4;
const init = workerData as IndexWorkerInit;
const port = parentPort!;
let credit = MAX_AHEAD;
let wake: (() => void) | undefined;
let stopped = false;
port.on('message', (m: { type: string }) => {
  if (m.type === 'stop') {
    stopped = true;
    credit = Number.POSITIVE_INFINITY;
    wake?.();
    wake = undefined;
  } else if (m.type === 'credit') {
    credit++;
    wake?.();
    wake = undefined;
  }
});

async function run(): Promise<void> {
  const byCollection = new Map<string, number[]>();
  init.defs.forEach((def, i) => byCollection.set(def.collection, [...(byCollection.get(def.collection) ?? []), i]));
  const env = open({ path: init.path, noSubdir: false, maxDbs: init.maxDbs, readOnly: true });
  try {
    const docs = env.openDB<StoredDocument, string>('@docs', {});
    let data = Buffer.allocUnsafe(1 << 20);
    let pos = 0;
    let offsets: number[] = [];
    let which: number[] = [];
    let n = 0;
    const room = (): void => {
      if (pos + 8192 <= data.length) return;
      const bigger = Buffer.allocUnsafe(data.length * 2);
      data.copy(bigger, 0, 0, pos);
      data = bigger;
    };
    const flush = async (): Promise<void> => {
      while (credit === 0) await new Promise<void>((r) => (wake = r));
      if (stopped) return;
      credit--;
      const out = Buffer.from(data.subarray(0, pos));
      const off = Uint32Array.from(offsets);
      const w = Uint8Array.from(which);
      port.postMessage({ type: 'batch', docs: n, data: out, offsets: off, which: w }, [out.buffer as ArrayBuffer, off.buffer, w.buffer]);
      pos = 0;
      offsets = [];
      which = [];
      n = 0;
    };
    for (const { key: id, value: doc } of docs.getRange({})) {
      n++;
      const list = byCollection.get(doc.collection);
      if (list) {
        for (const i of list) {
          for (const key of indexKeysFor(init.defs[i], doc.body)) {
            room();
            const k0 = pos;
            pos = writeKey(key as never, data, pos);
            const v0 = pos;
            pos = writeKey(id, data, pos);
            offsets.push(k0, v0, v0, pos);
            which.push(i);
          }
        }
      }
      if (n >= init.batchDocs) await flush();
      if (stopped) break;
    }
    if (n > 0 && !stopped) await flush();
  } finally {
    await env.close();
  }
}

run().then(
  () => port.postMessage({ type: 'done' }),
  (err: unknown) => port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
).finally(() => port.close());
