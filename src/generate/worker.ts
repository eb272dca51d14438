/**
 * worker: a generator worker thread. It builds the dataset's corpus once (deterministic
 * from the seed), then encodes each Batch it is sent and posts back the EncodedBatch,
 * transferring its buffers (no copy).
 *
 * Messages in: { type: 'batch', batch }, and { type: 'recycle', buffer } to hand back a
 * transferred `data` buffer once written. Messages out: { type: 'ready' } once, then one
 * { type: 'encoded', encoded } per batch, in the order received; { type: 'error', message }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { encodeBatch, type EncoderContext } from './batch-encoder.js';
import { buildCorpus } from './corpus.js';
import type { Batch } from './plan.js';
import { PROFILES } from './profiles.js';

/** WorkerInit: the workerData a generator worker is started with. */
export interface WorkerInit {
  seed: number;
  profile: string;
  counts: Record<string, number>;
  epoch: number;
  corpusBytes: number;
}

const init = workerData as WorkerInit;
const ctx: EncoderContext = {
  seed: init.seed,
  profile: PROFILES[init.profile],
  corpus: buildCorpus(init.seed, init.corpusBytes),
  counts: init.counts,
  epoch: init.epoch,
};
const port = parentPort!;
port.postMessage({ type: 'ready' });
// Buffers the writer is done with come back here to be written into again.
const pool: ArrayBuffer[] = [];
// Encoded bytes per document seen so far, per collection: a batch gets a buffer it will not outgrow. Outgrowing
// one doubles it with a copy of everything written so far, which was 4% of this thread's time (large documents in
// buffers sized for small ones).
const bytesPerDoc = new Map<number, number>();

/** takeBuffer: the smallest pooled buffer of at least `need` bytes, if any. */
function takeBuffer(need: number): ArrayBuffer | undefined {
  let best = -1;
  for (let i = 0; i < pool.length; i++) {
    if (pool[i].byteLength >= need && (best < 0 || pool[i].byteLength < pool[best].byteLength)) best = i;
  }
  return best < 0 ? undefined : pool.splice(best, 1)[0];
}

port.on('message', (msg: { type: 'batch'; batch: Batch } | { type: 'recycle'; buffer: ArrayBuffer }) => {
  if (msg.type === 'recycle') {
    if (pool.length < 8) pool.push(msg.buffer);
    else {
      // Full: keep the larger buffers, which serve any batch.
      let smallest = 0;
      for (let i = 1; i < pool.length; i++) if (pool[i].byteLength < pool[smallest].byteLength) smallest = i;
      if (pool[smallest].byteLength < msg.buffer.byteLength) pool[smallest] = msg.buffer;
    }
    return;
  }
  try {
    const { batch } = msg;
    const need = Math.ceil((batch.count * (bytesPerDoc.get(batch.collectionIx) ?? 2048) * 1.25) / 65536) * 65536;
    const encoded = encodeBatch(ctx, batch, takeBuffer(need), need);
    bytesPerDoc.set(batch.collectionIx, Math.max(bytesPerDoc.get(batch.collectionIx) ?? 0, Math.ceil(encoded.data.length / Math.max(1, encoded.count))));
    port.postMessage({ type: 'encoded', encoded }, [encoded.data.buffer as ArrayBuffer, encoded.docs.buffer as ArrayBuffer, encoded.index.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
});
