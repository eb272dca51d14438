/**
 * generate: build a deterministic, realistic document database (`pagevault generate`).
 *
 * Pipeline: the main thread plans batches (plan.ts) and hands them to worker threads,
 * which generate and encode documents (batch-encoder.ts); the main thread puts the bytes
 * into LMDB in key order (MDB_APPEND for documents and etags), in lmdb-js async
 * transactions whose commits run on lmdb-js's writer thread. Memory is bounded by the
 * number of batches in flight. Same seed, profile and document count give the same
 * documents, byte for byte, whatever the number of threads.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { existsSync, fsyncSync, openSync, closeSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'lmdb';
import { AbortedError, DestinationNotEmptyError, InvalidArgumentError } from '../errors.js';
import { openDatabase } from '../docdb/database.js';
import { DbNames, MetaKeys, indexDbName } from '../docdb/layout.js';
import { workerUrl } from '../util/worker-url.js';
import { encodeBatch, type EncodedBatch } from './batch-encoder.js';
import { DEFAULT_CORPUS_BYTES, buildCorpus } from './corpus.js';
import { collectionCounts, planBatches, type Batch } from './plan.js';
import { seedFromString } from './prng.js';
import { PROFILES } from './profiles.js';
import type { WorkerInit } from './worker.js';

/** GENERATOR_VERSION: changes whenever the same inputs would produce different documents. */
export const GENERATOR_VERSION = 'pagevault-gen/1';

/** DATASET_EPOCH: the fixed "now" of generated data (2026-01-01T00:00:00Z), for determinism. */
export const DATASET_EPOCH = Date.UTC(2026, 0, 1);

/** GenerateOptions: see `pagevault generate --help`. */
export interface GenerateOptions {
  /** Directory of the database to create; must not hold documents yet. */
  path: string;
  /** Number of documents. */
  docs: number;
  /** Seed (any string or number); default "1". */
  seed?: string | number;
  /** Profile name (see PROFILES); default "default". */
  profile?: string;
  /** Generator worker threads; default: cores - 1 (at least 1). 0 generates on the main thread. */
  threads?: number;
  /** Documents per batch (and per write transaction); default 2048. */
  batchSize?: number;
  /** Corpus size in bytes; default 8 MiB. Smaller is faster to start but compresses better. */
  corpusBytes?: number;
  /** Called after every committed batch. */
  onProgress?: (p: GenerateProgress) => void;
  /** Cancels generation; the database is left with the batches committed so far and no identities. */
  signal?: AbortSignal;
}

/** GenerateProgress: counters for a progress bar. */
export interface GenerateProgress {
  docs: number;
  total: number;
  valueBytes: number;
  elapsedMs: number;
}

/** GenerateResult: what was generated. */
export interface GenerateResult {
  path: string;
  docs: number;
  seed: string;
  profile: string;
  counts: Record<string, number>;
  indexEntries: number;
  /** Bytes of document values written (msgpack). */
  valueBytes: number;
  /** Size of data.mdb afterwards. */
  fileBytes: number;
  seconds: number;
  docsPerSecond: number;
  databaseId: string;
  generatorVersion: string;
}

/** generateDataset: create the dataset described by `options`. Resolves when it is durable on disk. */
export async function generateDataset(options: GenerateOptions): Promise<GenerateResult> {
  const { path } = options;
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('Expected a directory path for path');
  if (!Number.isSafeInteger(options.docs) || options.docs < 0) {
    throw new InvalidArgumentError(`Expected a non-negative integer for docs but received ${String(options.docs)}`);
  }
  const profileName = options.profile ?? 'default';
  const profile = PROFILES[profileName];
  if (!profile) throw new InvalidArgumentError(`Expected one of ${Object.keys(PROFILES).join(', ')} for profile but received ${JSON.stringify(profileName)}`);
  const seedText = String(options.seed ?? '1');
  const seed = seedFromString(seedText);
  const threads = options.threads ?? Math.max(1, availableParallelism() - 1);
  if (!Number.isInteger(threads) || threads < 0 || threads > 64) throw new InvalidArgumentError(`Expected 0-64 for threads but received ${String(threads)}`);
  const batchSize = options.batchSize ?? 2048;
  const corpusBytes = options.corpusBytes ?? DEFAULT_CORPUS_BYTES;
  if (!Number.isInteger(corpusBytes) || corpusBytes < 1 << 20) throw new InvalidArgumentError('Expected at least 1 MiB for corpusBytes');

  if (existsSync(path) && !existsSync(join(path, 'data.mdb')) && readdirSync(path).length > 0) {
    throw new DestinationNotEmptyError(`${path} exists and is not an empty directory or a database`);
  }
  const started = performance.now();
  const counts = collectionCounts(profile, options.docs);
  // Start the workers first: booting them and building their corpora overlaps with opening
  // and preparing the database below.
  const source: BatchSource = createBatchSource({ seed, profile: profileName, counts, epoch: DATASET_EPOCH, corpusBytes }, threads);
  let db;
  try {
    db = openDatabase(path, { noSync: true });
  } catch (err) {
    await source.close();
    throw err;
  }
  try {
    if ((db.docs.getStats() as { entryCount: number }).entryCount > 0) {
      throw new DestinationNotEmptyError(`${path} already holds documents; generate only fills an empty database`);
    }
    for (const def of profile.indexes) await db.defineIndex(def);
    const env = db.env;
    // Handles with binary values on the same named databases: the workers already produced
    // the exact bytes. Keys keep lmdb-js's default (ordered-binary) encoding on purpose: it
    // copies a Buffer key as is into lmdb-js's zero-padded key buffer. lmdb-js sets its
    // `compareFast` comparator on such databases, which reads the search key in 4-byte
    // words past its end and assumes zeros there; a `keyEncoding: 'binary'` handle would
    // hand it our unpadded bytes and silently mis-sort the tree (a test caught exactly that).
    const docsRaw = env.openDB<Buffer, Buffer>(DbNames.docs, { encoding: 'binary' });
    const etagsRaw = env.openDB<Buffer, number>(DbNames.etags, { encoding: 'binary' });
    const indexRaw: Array<Database<Buffer, Buffer>> = profile.indexes.map((def) =>
      env.openDB<Buffer, Buffer>(indexDbName(def.name), { encoding: 'binary', dupSort: !def.unique }),
    );

    let written = 0;
    let valueBytes = 0;
    let indexEntries = 0;
    const writeBatch = (e: EncodedBatch): void => {
      const { data, docs, index } = e;
      const append = { append: true };
      for (let i = 0; i < e.count; i++) {
        const d = i * 6;
        const id = data.subarray(docs[d], docs[d + 1]);
        docsRaw.putSync(id as Buffer, data.subarray(docs[d + 2], docs[d + 3]) as Buffer, append);
        etagsRaw.putSync(e.firstEtag + i, data.subarray(docs[d + 4], docs[d + 5]) as Buffer, append);
        valueBytes += docs[d + 3] - docs[d + 2];
      }
      for (let j = 0; j < e.indexCount; j++) {
        const x = j * 4;
        const doc = index[x + 3] * 6;
        indexRaw[index[x]].putSync(data.subarray(index[x + 1], index[x + 2]) as Buffer, data.subarray(docs[doc], docs[doc + 1]) as Buffer);
      }
      indexEntries += e.indexCount;
      written += e.count;
    };

    const batches = source;
    try {
      const pending = new Set<Promise<void>>();
      const maxPending = 3;
      for await (const encoded of batches.run(planBatches(profile, options.docs, batchSize), options.signal)) {
        const p: Promise<void> = env.transaction(() => {
          writeBatch(encoded);
          // putSync copied the bytes into LMDB's pages: the buffer can be written into again.
          batches.recycle(encoded);
        }).then(() => {
          pending.delete(p);
          options.onProgress?.({ docs: written, total: options.docs, valueBytes, elapsedMs: performance.now() - started });
        });
        pending.add(p);
        if (pending.size >= maxPending) await Promise.race(pending);
      }
      await Promise.all(pending);
    } finally {
      await batches.close();
    }
    if (options.signal?.aborted) throw new AbortedError('generation aborted');

    await env.transaction(() => {
      for (const [collection, n] of Object.entries(counts)) if (n > 0) db.identities.putSync(collection, n);
      db.meta.putSync(MetaKeys.lastEtag, options.docs);
      db.meta.putSync('generated', { seed: seedText, profile: profileName, docs: options.docs, generatorVersion: GENERATOR_VERSION });
    });
    await env.flushed;
    const databaseId = db.databaseId;
    await db.close();
    // Generation ran with noSync: make the finished database durable before reporting success.
    const dataFile = join(path, 'data.mdb');
    const fd = openSync(dataFile, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      path,
      docs: options.docs,
      seed: seedText,
      profile: profileName,
      counts,
      indexEntries,
      valueBytes,
      fileBytes: statSync(dataFile).size,
      seconds,
      docsPerSecond: seconds > 0 ? options.docs / seconds : 0,
      databaseId,
      generatorVersion: GENERATOR_VERSION,
    };
  } finally {
    await source.close();
    await db.close();
  }
}

/** BatchSource: encodes batches, on workers or inline, yielding them in plan order. */
interface BatchSource {
  run(batches: Iterable<Batch>, signal?: AbortSignal): AsyncGenerator<EncodedBatch>;
  /** recycle: the consumer is done with `e`'s bytes; they may be overwritten. */
  recycle(e: EncodedBatch): void;
  close(): Promise<void>;
}

function createBatchSource(init: WorkerInit, threads: number): BatchSource {
  if (threads === 0) {
    const ctx = { seed: init.seed, profile: PROFILES[init.profile], corpus: buildCorpus(init.seed, init.corpusBytes), counts: init.counts, epoch: init.epoch };
    const pool: ArrayBuffer[] = [];
    return {
      recycle(e) {
        if (pool.length < 8) pool.push(e.data.buffer as ArrayBuffer);
      },
      async *run(batches, signal) {
        for (const b of batches) {
          if (signal?.aborted) return;
          yield encodeBatch(ctx, b, pool.pop());
          // Let commits and progress callbacks run between batches.
          await new Promise((r) => setImmediate(r));
        }
      },
      async close() {},
    };
  }
  const url = workerUrl('./worker.js', import.meta.url);
  const workers = Array.from({ length: threads }, () => new Worker(url, { workerData: init }));
  let recycleTo = 0;
  return {
    recycle(e) {
      const buffer = e.data.buffer as ArrayBuffer;
      workers[recycleTo++ % workers.length].postMessage({ type: 'recycle', buffer }, [buffer]);
    },
    async *run(batches, signal) {
      const perWorker = 2;
      const iter = batches[Symbol.iterator]();
      const done = new Map<number, EncodedBatch>();
      let failure: Error | undefined;
      let wake: (() => void) | undefined;
      let nextSeq = 0;
      let issued = 0;
      let exhausted = false;
      const inflight = new Array<number>(workers.length).fill(0);
      const feed = (wi: number): void => {
        while (!exhausted && inflight[wi] < perWorker) {
          const r = iter.next();
          if (r.done) {
            exhausted = true;
            return;
          }
          inflight[wi]++;
          issued++;
          workers[wi].postMessage({ type: 'batch', batch: r.value });
        }
      };
      workers.forEach((w, wi) => {
        w.on('message', (msg: { type: string; encoded?: EncodedBatch; message?: string }) => {
          if (msg.type === 'encoded' && msg.encoded) {
            inflight[wi]--;
            done.set(msg.encoded.seq, msg.encoded);
            if (done.size < workers.length * perWorker) feed(wi);
          } else if (msg.type === 'error') failure = new Error(`generator worker failed: ${msg.message}`);
          wake?.();
        });
        w.on('error', (err) => {
          failure = err;
          wake?.();
        });
      });
      // Keep each worker fed only while the consumer keeps up: at most perWorker batches
      // in flight per worker plus the reordering buffer.
      workers.forEach((_, wi) => feed(wi));
      while (nextSeq < issued || !exhausted) {
        if (failure) throw failure;
        if (signal?.aborted) return;
        const e = done.get(nextSeq);
        if (e) {
          done.delete(nextSeq);
          nextSeq++;
          if (done.size < workers.length * perWorker) workers.forEach((_, wi) => feed(wi));
          yield e;
          continue;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      if (failure) throw failure;
    },
    async close() {
      // terminate() on an exited worker resolves at once, so close() is idempotent.
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
