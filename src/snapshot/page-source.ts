/**
 * page-source: `openPageSource(env, options)`, a stream of the pages of one consistent snapshot of an lmdb-js
 * environment, full or incremental, taken while writers keep committing.
 *
 * How (LMDB-INTERNALS.md §0, §4.3, §4.7):
 * - `pinSnapshot` pins transaction T with an lmdb-js read transaction and reads the meta pages under the writer lock;
 * - the native addon walks every tree reachable from T's meta (free list, main, named databases, dupSort
 *   sub-databases, overflow runs) on the libuv pool and collects the pages to ship: all of them (full), or only
 *   those written after `baseTxnId` (incremental: copy-on-write lets it prune every subtree whose root is not
 *   newer than the base). Encrypted environments cannot be parsed: a full snapshot ships every page 2..last_pg;
 * - `batches()` then pulls the pages, in ascending page order, coalesced into runs, one bounded batch at a time;
 * - `metaPages` holds normalized meta pages 0 and 1 for T. A file holding them plus the shipped pages (zeros
 *   elsewhere) opens in lmdb-js at exactly T; for an incremental, applying it over the file restored at the base
 *   gives that.
 */
import type { RootDatabase, Transaction } from 'lmdb';

import { AbortedError, InvalidArgumentError, UnsupportedFormatError } from '../errors.js';
import { nativeOpenSnapshot, type RawSnapshotStats, type SnapshotHandle } from '../native/binding.js';
import type { LmdbFormat } from './env-info.js';
import { pinSnapshot, type PinnedSnapshot } from './pin.js';

/** DEFAULT_MAX_BATCH_BYTES: the default upper bound of one batch's page bytes (4 MiB: peak memory on a 2 GB snapshot fell from 235 to about 200 MB against 8 MiB, at the same speed). */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** MAX_BATCH_BYTES_LIMIT: the largest `maxBatchBytes` accepted (1 GiB). */
export const MAX_BATCH_BYTES_LIMIT = 1024 * 1024 * 1024;

/** PageSourceOptions: how openPageSource takes its snapshot. */
export interface PageSourceOptions {
  /**
   * 0 or absent: a full snapshot. Otherwise the txnId of the snapshot this one builds on (the previous full or
   * incremental of the same environment): only pages written after it are shipped. Must not exceed the pinned T.
   */
  baseTxnId?: number;
  /** Upper bound of one batch's page bytes; at least one page per batch whatever the value. Default 4 MiB. */
  maxBatchBytes?: number;
  /** Aborting closes the source: a pending or later batch rejects with AbortedError, and the snapshot is released. */
  signal?: AbortSignal;
  /**
   * The key of an lmdb-js-encrypted environment (its `encryptionKey`: 32 bytes, or a string of 32 UTF-8 bytes).
   * A full snapshot copies the encrypted pages without it; an incremental walks the trees, which needs it
   * (WrongKeyError when it does not decrypt the pages). Ignored for an environment that is not encrypted.
   */
  envKey?: string | Uint8Array;
}

/** PageBatch: consecutive runs of pages, in ascending page order across and within batches. */
export interface PageBatch {
  /** [firstPgno, count, firstPgno, count, ...]: the runs in this batch. */
  readonly runs: Float64Array;
  /** The pages of the runs, concatenated in the same order (sum of counts x pageSize bytes). Owned by the caller. */
  readonly data: Buffer;
}

/** PageSourceStats: counters of a page source. Walk counters are final once openPageSource resolved. */
export interface PageSourceStats {
  /**
   * Pages the tree walk read, whole or header only. Full: every tree page. Incremental: the pages changed since the
   * base (read whole) plus the children of changed branch pages (probed, header only), so it grows with the changes
   * times the branch fan-out, never with a pass over the file.
   */
  pagesVisited: number;
  /** Of pagesVisited, pages read as a header only (unchanged subtree roots, overflow first pages). */
  headerProbes: number;
  /** Incremental: pages read and found unchanged since the base, whose subtrees were skipped. */
  subtreesPruned: number;
  /** Incremental: overflow runs skipped unread because their reference predates the base. */
  overflowRunsSkipped: number;
  /** Trees walked: free list, main, named databases, dupSort sub-databases. */
  databases: number;
  /** Full snapshots: big-value references whose txnid differs from their run's header (expected 0). */
  overflowRefMismatches: number;
  /** Pages the snapshot ships (the two meta pages not included). */
  pagesToShip: number;
  /** Runs of consecutive pages they form. */
  runs: number;
  bytesToShip: number;
  pagesShipped: number;
  bytesShipped: number;
  batches: number;
}

/**
 * PageSource: the pages of one pinned snapshot. Holds an lmdb-js read transaction (so the data file grows while
 * writers are busy) and a native handle until it is closed, which happens on `close()`, when `batches()` ends or
 * fails, and on abort.
 */
export interface PageSource {
  /** T: the snapshot's transaction id. */
  readonly txnId: number;
  /** 0 for a full snapshot, else the base transaction. */
  readonly baseTxnId: number;
  readonly mode: 'full' | 'incremental';
  readonly pageSize: number;
  /** T's last page in use: a restored file is (lastPage + 1) x pageSize bytes. */
  readonly lastPage: number;
  readonly format: LmdbFormat;
  /** lmdb-js-encrypted environment: pages are ciphertext, copied as they are (full snapshots only). */
  readonly encrypted: boolean;
  /** Normalized meta pages 0 and 1 for T (2 x pageSize bytes): write them at offset 0, after the pages. */
  readonly metaPages: Buffer;
  /**
   * The pinned lmdb-js read transaction: pass `{ transaction }` to lmdb-js reads to see exactly T. Valid until the
   * source is closed.
   */
  readonly transaction: Transaction;
  /** A copy of the counters, as of the last finished batch. */
  readonly stats: PageSourceStats;
  /** True once closed (by close(), the end of batches(), an error or an abort). */
  readonly closed: boolean;
  /**
   * batches: the pages, pulled one batch at a time (the next is read only when the consumer asks for it). Single
   * use: a second call throws. When it ends, fails or the consumer leaves the loop early, the source is closed.
   * Rejects with AbortedError after an abort; with CorruptEnvError/IoError if a read fails.
   */
  batches(): AsyncIterable<PageBatch>;
  /**
   * close: releases the native handle and the read transaction, after waiting for a batch in flight to stop.
   * Idempotent: every call returns the same promise; never rejects.
   */
  close(): Promise<void>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function checkSafeInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`Expected a number for ${name} but received ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`Expected an integer in ${min}..${max} for ${name} but received ${value}`);
  }
  return value;
}

function formatOf(handle: SnapshotHandle): LmdbFormat {
  if (handle.dataVersion === 2 && handle.pageHeaderSize === 24) {
    return { dataVersion: 2, pageHeaderSize: 24, description: 'lmdb-js data v2' };
  }
  if (handle.dataVersion === 1 && handle.pageHeaderSize === 16) {
    return { dataVersion: 1, pageHeaderSize: 16, description: 'LMDB 0.9 data v1' };
  }
  throw new UnsupportedFormatError(`native addon reported data version ${handle.dataVersion}`);
}

function toStats(raw: RawSnapshotStats): PageSourceStats {
  return {
    pagesVisited: raw.pagesVisited,
    headerProbes: raw.headerProbes,
    subtreesPruned: raw.subtreesPruned,
    overflowRunsSkipped: raw.overflowRunsSkipped,
    databases: raw.databases,
    overflowRefMismatches: raw.overflowRefMismatches,
    pagesToShip: raw.pagesToShip,
    runs: raw.runs,
    bytesToShip: raw.bytesToShip,
    pagesShipped: raw.pagesShipped,
    bytesShipped: raw.bytesShipped,
    batches: raw.batches,
  };
}

class NativePageSource implements PageSource {
  readonly txnId: number;
  readonly baseTxnId: number;
  readonly mode: 'full' | 'incremental';
  readonly pageSize: number;
  readonly lastPage: number;
  readonly format: LmdbFormat;
  readonly encrypted: boolean;
  readonly metaPages: Buffer;
  readonly #pinned: PinnedSnapshot;
  readonly #handle: SnapshotHandle;
  readonly #maxBatchBytes: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => {
    this.#aborted = true;
    void this.close();
  };
  #aborted = false;
  #iterated = false;
  #pending: Promise<unknown> | undefined;
  #closing: Promise<void> | undefined;

  constructor(pinned: PinnedSnapshot, handle: SnapshotHandle, maxBatchBytes: number, signal?: AbortSignal) {
    this.#pinned = pinned;
    this.#handle = handle;
    this.#maxBatchBytes = maxBatchBytes;
    this.#signal = signal;
    this.txnId = handle.txnId;
    this.baseTxnId = handle.baseTxnId;
    this.mode = handle.baseTxnId === 0 ? 'full' : 'incremental';
    this.pageSize = handle.pageSize;
    this.lastPage = handle.lastPage;
    this.format = formatOf(handle);
    this.encrypted = handle.encrypted;
    this.metaPages = handle.metaPages;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get transaction(): Transaction {
    return this.#pinned.transaction;
  }

  get stats(): PageSourceStats {
    return toStats(this.#handle.stats());
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** collect: runs the native walk; closes the source if it fails. */
  async collect(): Promise<void> {
    try {
      await this.#track(this.#handle.collect());
    } catch (err) {
      await this.close();
      throw this.#aborted ? new AbortedError('page snapshot aborted') : err;
    }
  }

  batches(): AsyncIterable<PageBatch> {
    if (this.#iterated) throw new Error('PageSource.batches() can only be called once');
    this.#iterated = true;
    return this.#generate();
  }

  async *#generate(): AsyncGenerator<PageBatch> {
    try {
      for (;;) {
        if (this.#aborted) throw new AbortedError('page snapshot aborted');
        if (this.closed) throw new Error('PageSource is closed');
        let batch;
        try {
          batch = await this.#track(this.#handle.nextBatch(this.#maxBatchBytes));
        } catch (err) {
          throw this.#aborted ? new AbortedError('page snapshot aborted') : err;
        }
        if (batch === null) return;
        yield { runs: batch.runs, data: batch.data };
      }
    } finally {
      await this.close();
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#handle.close(); // cancels a running walk or batch
    const pending = this.#pending;
    if (pending !== undefined) await pending.then(
      () => undefined,
      () => undefined,
    );
    // Only now, with no native read in flight, may LMDB reuse the snapshot's pages.
    this.#pinned.release();
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#pending = promise;
    return promise;
  }
}

/**
 * openPageSource: pins the last committed transaction T of `env` (an lmdb-js root database opened read-write by the
 * caller; its writer lock is taken briefly), collects the pages of a full snapshot of T or of an incremental on top
 * of `options.baseTxnId`, and returns a PageSource to stream them.
 *
 * Contract:
 * - The tree walk runs on the libuv pool (it reads every page of a full snapshot once); the promise resolves when
 *   it is done, with the final walk counters in `stats`.
 * - The caller owns the source and must close it (or run `batches()` to the end); until then the snapshot stays
 *   pinned.
 * - Rejects with TypeError/InvalidArgumentError for bad arguments (a base newer than T included),
 *   IncrementalUnavailableError for an incremental of a data version 1 file or of an encrypted environment without
 *   `envKey`, WrongKeyError when `envKey` does not decrypt it, CorruptEnvError when a page fails validation, AbortedError when
 *   `signal` aborts, and the errors of pinSnapshot. Nothing stays pinned after a rejection.
 *
 * @example
 * ```ts
 * const source = await openPageSource(env, { baseTxnId: previous.txnId });
 * for await (const batch of source.batches()) await sink.write(batch);
 * ```
 */
/** envKeyBytes: an lmdb-js encryption key as the 32 bytes LMDB uses (InvalidArgumentError for another length). */
export function envKeyBytes(key: string | Uint8Array | undefined): Buffer | undefined {
  if (key === undefined) return undefined;
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (bytes.length !== 32) throw new InvalidArgumentError(`Expected a database key of 32 bytes (lmdb-js encryptionKey) but received ${bytes.length} bytes`);
  return bytes;
}

export async function openPageSource(env: RootDatabase, options: PageSourceOptions = {}): Promise<PageSource> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected an object for options but received ${describe(options)}`);
  }
  const baseTxnId =
    options.baseTxnId === undefined ? 0 : checkSafeInteger(options.baseTxnId, 'baseTxnId', 0, Number.MAX_SAFE_INTEGER);
  const maxBatchBytes =
    options.maxBatchBytes === undefined
      ? DEFAULT_MAX_BATCH_BYTES
      : checkSafeInteger(options.maxBatchBytes, 'maxBatchBytes', 1, MAX_BATCH_BYTES_LIMIT);
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Expected an AbortSignal for signal but received ${describe(signal)}`);
  }
  if (signal?.aborted) throw new AbortedError('page snapshot aborted before it started');

  const pinned = await pinSnapshot(env);
  let handle: SnapshotHandle;
  try {
    // Pinning waits for lmdb-js's writer lock: the signal may have fired meanwhile.
    if (signal?.aborted) throw new AbortedError('page snapshot aborted while pinning');
    if (baseTxnId > pinned.txnId) {
      throw new InvalidArgumentError(
        `Expected a baseTxnId not newer than the snapshot's txn ${pinned.txnId} but received ${baseTxnId}`,
      );
    }
    handle = nativeOpenSnapshot(pinned.dataPath, pinned.metas.pages, pinned.txnId, baseTxnId, envKeyBytes(options.envKey));
  } catch (err) {
    pinned.release();
    throw err;
  }
  let source: NativePageSource;
  try {
    source = new NativePageSource(pinned, handle, maxBatchBytes, signal);
  } catch (err) {
    handle.close();
    pinned.release();
    throw err;
  }
  await source.collect();
  return source;
}
