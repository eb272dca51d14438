/**
 * pin: `pinSnapshot(env)`, which pins one consistent snapshot (transaction T) of an lmdb-js environment and reads
 * its meta pages, following LMDB-INTERNALS.md §0 step 1.
 *
 * Protocol, all inside `env.transactionSync(...)`, where lmdb-js holds LMDB's writer lock so that no process can
 * commit:
 * 1. `T = env.getStats().lastTxnId`: the last commit, which under the lock is also what a new reader sees;
 * 2. `env.resetReadTxn()` then `env.useReadTransaction()`: a fresh, registered lmdb-js reader at exactly T. LMDB
 *    will not reuse any page reachable from T while it lives, in this or any other process;
 * 3. the addon's synchronous `readMetaPages` (two preads on the JS thread, on purpose: the callback must stay
 *    short, and a pool round trip would only hold the writer lock longer), then the check that meta slot `T & 1`
 *    holds T. Readers protect data pages, not meta slots: once the lock is released, commit T+2 may overwrite slot
 *    T & 1, so the metas must be read here.
 * An empty `transactionSync` callback commits nothing (lmdb-js aborts write transactions without changes), so
 * pinning does not itself create a transaction.
 */
import type { RootDatabase, Transaction } from 'lmdb';

import { CorruptEnvError } from '../errors.js';
import { nativeReadMetaPages, type RawMetaPages } from '../native/binding.js';

/**
 * PinnedSnapshot: one pinned snapshot. Owns one use of an lmdb-js read transaction until `release()`.
 */
export interface PinnedSnapshot {
  /** T: the transaction id of the snapshot. */
  readonly txnId: number;
  /**
   * The lmdb-js read transaction pinned at T; pass `{ transaction }` to lmdb-js reads to see the same snapshot.
   * Valid until `release()`.
   */
  readonly transaction: Transaction;
  /** Pages 0 and 1 as read under the writer lock, decoded; slot `txnId % 2` holds T. */
  readonly metas: RawMetaPages;
  /** The data file (`<dir>/data.mdb`, or the path itself for a noSubdir environment). */
  readonly dataPath: string;
  /** True once `release()` ran. */
  readonly released: boolean;
  /**
   * release: ends this use of the read transaction (`txn.done()`), then asks lmdb-js to drop its shared read
   * transaction if nobody else uses it (`resetReadTxn()`), so the reader slot is freed now rather than on
   * lmdb-js's next timer tick. Idempotent; never throws (a closed environment has released its readers already).
   */
  release(): void;
}

/** PinnableEnv: the part of lmdb-js's RootDatabase that pinning uses. */
type PinnableEnv = Pick<RootDatabase, 'transactionSync' | 'getStats' | 'resetReadTxn' | 'useReadTransaction'>;

function envPath(env: RootDatabase): string {
  const path = (env as unknown as { path?: unknown }).path;
  if (typeof path !== 'string' || path === '') {
    throw new TypeError('Expected an lmdb-js root database (with a path) for env but received an object without one');
  }
  return path;
}

function lastTxnIdOf(env: PinnableEnv): number {
  const stats = env.getStats() as { lastTxnId?: unknown };
  const txnId = stats.lastTxnId;
  if (typeof txnId !== 'number' || !Number.isSafeInteger(txnId) || txnId < 0) {
    throw new CorruptEnvError(`lmdb-js reported last transaction id ${String(txnId)}`);
  }
  return txnId;
}

/**
 * pinSnapshot: pins the last committed transaction T of `env` (an lmdb-js root database opened read-write by the
 * caller) and reads its meta pages, as described at the top of this module.
 *
 * Contract:
 * - Runs inside an lmdb-js asynchronous write transaction (`env.transaction`), so it waits for the writer lock
 *   without blocking the JS thread, then does two small preads while holding it. Not `transactionSync`: when the
 *   same process has the environment open through a second lmdb-js handle whose writer thread holds the lock
 *   while it waits for a JS transaction callback, a synchronous begin on the JS thread deadlocks (found by the
 *   `npm start` demo, which writes and backs up in one process). Other processes' commits wait a moment.
 * - On success the caller owns the returned snapshot and must call `release()` (idempotent), or the environment's
 *   file grows while writers are active (LMDB cannot reuse pages T still reaches).
 * - Throws TypeError for something that is not an lmdb-js root database, lmdb-js's own error when the writer lock
 *   cannot be taken (e.g. a read-only environment), CorruptEnvError when slot T % 2 does not hold T, and the
 *   native reader's errors (NotFoundError, NotLmdbError, UnsupportedFormatError, IoError). Nothing stays pinned
 *   after a throw.
 *
 * @example
 * ```ts
 * const pinned = await pinSnapshot(env);
 * try {
 *   const value = env.get('key', { transaction: pinned.transaction });
 * } finally {
 *   pinned.release();
 * }
 * ```
 */
export async function pinSnapshot(env: RootDatabase): Promise<PinnedSnapshot> {
  if (typeof env !== 'object' || env === null || typeof env.transaction !== 'function') {
    throw new TypeError(`Expected an lmdb-js root database for env but received ${env === null ? 'null' : typeof env}`);
  }
  const path = envPath(env);
  let pinned: PinnedSnapshot | undefined;
  await env.transaction(() => {
    const txnId = lastTxnIdOf(env);
    env.resetReadTxn();
    const transaction = env.useReadTransaction();
    try {
      const metas = nativeReadMetaPages(path);
      const slot = metas.metas[txnId % 2];
      if (slot.txnId !== txnId) {
        throw new CorruptEnvError(
          `meta page ${txnId % 2} of ${metas.dataPath} holds txn ${slot.txnId}, not the last commit ${txnId}`,
        );
      }
      pinned = makePinned(env, transaction, txnId, metas);
    } catch (err) {
      transaction.done();
      throw err;
    }
  });
  if (pinned === undefined) throw new Error('pinSnapshot: the transaction did not run its callback');
  return pinned;
}

function makePinned(env: PinnableEnv, transaction: Transaction, txnId: number, metas: RawMetaPages): PinnedSnapshot {
  let released = false;
  return {
    txnId,
    transaction,
    metas,
    dataPath: metas.dataPath,
    get released() {
      return released;
    },
    release() {
      if (released) return;
      released = true;
      try {
        transaction.done();
        env.resetReadTxn();
      } catch {
        // The environment was closed first: lmdb-js aborted its read transactions then.
      }
    },
  };
}
