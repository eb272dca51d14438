/**
 * batch-encoder: turns a planned Batch into the exact bytes the writer puts into LMDB.
 * Runs in generator workers (worker.ts), or inline when threads = 0.
 *
 * Output layout (EncodedBatch), all offsets into `data`:
 * - `docs`: 6 uint32 per document: id start, id end (UTF-8 id = its ordered-binary key),
 *   value start, value end (msgpack StoredDocument), etag-value start, etag-value end
 *   (msgpack str of the id, the value stored in `@etags`).
 * - `index`: 4 uint32 per index entry: index number (position in the profile's
 *   index list), key start, key end (ordered-binary), document number within the batch.
 */
import { writeKey, type Key } from 'ordered-binary';
import { indexKeysFor } from '../docdb/index-keys.js';
import type { Corpus } from './corpus.js';
import { MsgpackWriter, preEncode, shape } from './msgpack-writer.js';
import { batchNumbers, docSeed, type Batch } from './plan.js';
import { Rng } from './prng.js';
import type { Profile } from './profiles.js';

/** EncodedBatch: see the layout above. `data` and both tables are transferable. */
export interface EncodedBatch {
  seq: number;
  firstEtag: number;
  count: number;
  data: Uint8Array;
  docs: Uint32Array;
  index: Uint32Array;
  indexCount: number;
}

/** EncoderContext: fixed for a whole dataset. */
export interface EncoderContext {
  seed: number;
  profile: Profile;
  corpus: Corpus;
  counts: Record<string, number>;
  epoch: number;
}

/** The StoredDocument layout (layout.ts), in its declared key order. */
const S_STORED = shape(['etag', 'collection', 'modified', 'body']);

/**
 * encodeBatch: generate and encode every document of `batch`. Pure in its inputs. `reuse`
 * is a buffer from an earlier batch to write into (recycling avoids allocating and
 * page-faulting megabytes per batch); the result's `data` may or may not share it. Without
 * one, `sizeHint` bytes are allocated (default 2 KiB per document); the buffer doubles
 * (with a copy) whenever it is outgrown.
 */
export function encodeBatch(ctx: EncoderContext, batch: Batch, reuse?: ArrayBuffer, sizeHint?: number): EncodedBatch {
  const spec = ctx.profile.collections[batch.collectionIx];
  const collectionEncoded = preEncode(spec.name);
  const prefix = new TextEncoder().encode(`${spec.name.toLowerCase()}/`);
  const rng = new Rng(0);
  const indexes = ctx.profile.indexes.map((def, ix) => ({ def, ix })).filter((d) => d.def.collection === spec.name);
  const numbers = batchNumbers(batch);
  const count = numbers.length;
  const w = new MsgpackWriter(reuse ? Buffer.from(reuse) : Math.max(1 << 16, sizeHint ?? count * 2048));
  const docs = new Uint32Array(count * 6);
  let index = new Uint32Array(Math.max(16, count * 4 * Math.max(1, indexes.length)));
  let indexCount = 0;

  for (let i = 0; i < count; i++) {
    const n = numbers[i];
    // id, as raw UTF-8 (its ordered-binary key form: ids start with a letter).
    const idStart = w.pos;
    w.idText(prefix, n);
    const idEnd = w.pos;
    // The stored document.
    const valStart = w.pos;
    w.beginValue();
    w.record(S_STORED);
    w.num(batch.firstEtag + i);
    w.raw(collectionEncoded);
    w.num(ctx.epoch);
    rng.reseed(docSeed(ctx.seed, batch.collectionIx, n));
    const indexed = spec.emit(w, { rng, corpus: ctx.corpus, n, counts: ctx.counts, epoch: ctx.epoch });
    const valEnd = w.pos;
    const etagValStart = w.pos;
    w.id(prefix, n);
    const etagValEnd = w.pos;
    const d = i * 6;
    docs[d] = idStart;
    docs[d + 1] = idEnd;
    docs[d + 2] = valStart;
    docs[d + 3] = valEnd;
    docs[d + 4] = etagValStart;
    docs[d + 5] = etagValEnd;

    for (const { def, ix } of indexes) {
      for (const key of indexKeysFor(def, indexed)) {
        // Encoded in place (ordered-binary's writeKey), not with toBufferKey, which allocates a Buffer per key.
        // Index keys are short (lmdb-js caps keys at 1978 bytes); the room reserved covers any of them.
        const keyStart = w.pos;
        w.ensure(4096);
        w.pos = writeKey(key as Key, w.buf, w.pos);
        if ((indexCount + 1) * 4 > index.length) {
          const bigger = new Uint32Array(index.length * 2);
          bigger.set(index);
          index = bigger;
        }
        const e = indexCount++ * 4;
        index[e] = ix;
        index[e + 1] = keyStart;
        index[e + 2] = w.pos;
        index[e + 3] = i;
      }
    }
  }
  return {
    seq: batch.seq,
    firstEtag: batch.firstEtag,
    count,
    data: w.buf.subarray(0, w.pos),
    docs,
    index,
    indexCount,
  };
}
