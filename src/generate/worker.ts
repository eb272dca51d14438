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
port.on('message', (msg: { type: 'batch'; batch: Batch } | { type: 'recycle'; buffer: ArrayBuffer }) => {
  if (msg.type === 'recycle') {
    if (pool.length < 8) pool.push(msg.buffer);
    return;
  }
  try {
    const encoded = encodeBatch(ctx, msg.batch, pool.pop());
    port.postMessage({ type: 'encoded', encoded }, [encoded.data.buffer as ArrayBuffer, encoded.docs.buffer as ArrayBuffer, encoded.index.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
});
