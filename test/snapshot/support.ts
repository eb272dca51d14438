/**
 * support: shared helpers of the page snapshot tests: raw-byte digests of lmdb-js databases (the oracle), opening
 * restored copies, child processes, and lmdb-js reader-table parsing.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { open, type Database, type RootDatabase, type RootDatabaseOptions, type Transaction } from 'lmdb';

/** DbSpec: a named database of a test env (null: the root store). */
export interface DbSpec {
  name: string | null;
  dupSort?: boolean;
}

export type RawDb = Database<Buffer, Buffer>;

/** rawDb: a handle on `spec` that reads and writes raw bytes (keys and values as Buffers). */
export function rawDb(env: RootDatabase, spec: DbSpec): RawDb {
  const options = { keyEncoding: 'binary' as const, encoding: 'binary' as const, dupSort: spec.dupSort === true };
  // lmdb-js opens the main database itself for a null name; its typings only allow strings.
  return env.openDB<Buffer, Buffer>(spec.name as string, options);
}

/**
 * digestDatabases: SHA-256 over every (key, value) pair, as raw bytes, of each database in `specs` (in the given
 * order), read under `transaction` when given. The root store's entries include the named-database records, whose
 * bytes (root page numbers, counts) are identical in an exact page copy. Returns the digest and per-database counts.
 */
export function digestDatabases(
  env: RootDatabase,
  specs: DbSpec[],
  transaction?: Transaction,
): { digest: string; counts: Record<string, number> } {
  const all = createHash('sha256');
  const counts: Record<string, number> = {};
  for (const spec of specs) {
    const db = rawDb(env, spec);
    let count = 0;
    all.update(`db:${spec.name ?? '(root)'}\n`);
    const range = db.getRange({ start: Buffer.alloc(0), ...(transaction ? { transaction } : {}) });
    for (const { key, value } of range) {
      const k = key as Buffer;
      const v = value as Buffer;
      const lengths = Buffer.alloc(8);
      lengths.writeUInt32LE(k.length, 0);
      lengths.writeUInt32LE(v.length, 4);
      all.update(lengths).update(k).update(v);
      count += 1;
    }
    counts[spec.name ?? '(root)'] = count;
  }
  return { digest: all.digest('hex'), counts };
}

/**
 * withCopy: copies the data file `dataFile` into a fresh directory `<dir>` (so the original is never opened or
 * modified by lmdb-js), opens it there with `options`, runs `fn`, then closes it.
 */
export async function withCopy<T>(
  dataFile: string,
  dir: string,
  options: RootDatabaseOptions,
  fn: (env: RootDatabase) => T | Promise<T>,
): Promise<T> {
  mkdirSync(dir, { recursive: true });
  copyFileSync(dataFile, join(dir, 'data.mdb'));
  const env = open({ ...options, path: dir });
  try {
    return await fn(env);
  } finally {
    await env.close();
  }
}

export { runNode, type ChildRun } from '../helpers/run-node.js';

/** ReaderSlot: one line of lmdb-js readerList(). */
export interface ReaderSlot {
  pid: number;
  txnid: string;
}

/** readerSlots: lmdb-js readerList() text (`pid thread txnid` per line after a header) as slots. */
export function readerSlots(env: RootDatabase): ReaderSlot[] {
  const slots: ReaderSlot[] = [];
  for (const line of env.readerList().split('\n')) {
    const match = /^\s*(\d+)\s+[0-9a-fx]+\s+(\S+)\s*$/i.exec(line);
    if (match) slots.push({ pid: Number(match[1]), txnid: match[2] ?? '' });
  }
  return slots;
}

/** lastTxnId: lmdb-js's getStats().lastTxnId. */
export function lastTxnId(env: RootDatabase): number {
  return (env.getStats() as { lastTxnId: number }).lastTxnId;
}

/** randomBytes: `size` bytes from a seeded generator (`next()` returning uint32s). */
export function seededBytes(next: () => number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4) {
    const value = next();
    for (let j = 0; j < 4 && i + j < size; j++) out[i + j] = (value >>> (8 * j)) & 0xff;
  }
  return out;
}

/** sleep: a promise that resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
