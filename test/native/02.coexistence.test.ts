// Same-process coexistence (LMDB-INTERNALS.md §3): envInfo runs in a process where lmdb-js has the environment
// open and holds a long read transaction, while another process writes hard. Opening lock.mdb from here, or a
// second LMDB instance, would wipe lmdb-js's reader table or drop this process's pid lock, after which the writer
// could recycle pages our snapshot still uses. These tests prove the reader, the pid lock and the snapshot survive.
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Database } from 'lmdb';
import { describe, expect, it } from 'vitest';

import { loadBinding } from '../../src/native/binding.js';
import { envInfo, type EnvInfo } from '../../src/snapshot/env-info.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { runNode } from '../helpers/run-node.js';

const ctx = useTmpEnv();

const WRITER = fileURLToPath(new URL('./fixtures/lmdb-writer.mjs', import.meta.url));
const READER_LIST = fileURLToPath(new URL('./fixtures/lmdb-reader-list.mjs', import.meta.url));
const KEY_COUNT = 1000;
const SIDE_DBS = 200;
const WRITE_MS = 2500;

interface ReaderSlot {
  pid: number;
  txnid: string;
}

/** parseReaderList: lmdb-js readerList() text (`pid thread txnid` per line after a header) as slots. */
function parseReaderList(text: string): ReaderSlot[] {
  const slots: ReaderSlot[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(\d+)\s+[0-9a-fx]+\s+(\S+)\s*$/i.exec(line);
    if (match) slots.push({ pid: Number(match[1]), txnid: match[2] ?? '' });
  }
  return slots;
}

async function childReaderList(envDir: string): Promise<ReaderSlot[]> {
  const lines = await runNode(READER_LIST, [envDir], false).done;
  const parsed = JSON.parse(lines[lines.length - 1] ?? '{}') as { readerList?: string };
  return parseReaderList(String(parsed.readerList));
}

/** lockFileDescriptors: how many of this process's descriptors point at `lockPath` (Linux /proc). */
function lockFileDescriptors(lockPath: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === lockPath) count += 1;
    } catch {
      // The descriptor closed between readdir and readlink.
    }
  }
  return count;
}

function expectedValue(key: number, commits: number): string {
  // The writer's commit n wrote `after-n` to key n % KEY_COUNT; find the last such n below `commits`.
  if (commits <= key) return `before-${key}`;
  return `after-${key + KEY_COUNT * Math.floor((commits - 1 - key) / KEY_COUNT)}`;
}

/** envInfoStorm: calls envInfo in concurrent batches until `until` settles; returns every result, in batch order. */
async function envInfoStorm(
  envDir: string,
  until: Promise<unknown>,
  onBatch?: (batch: number) => Promise<void>,
): Promise<EnvInfo[][]> {
  let finished = false;
  void until.then(
    () => (finished = true),
    () => (finished = true),
  );
  const batches: EnvInfo[][] = [];
  while (!finished) {
    batches.push(await Promise.all(Array.from({ length: 8 }, () => envInfo(envDir))));
    if (onBatch) await onBatch(batches.length);
  }
  return batches;
}

function expectMonotonic(batches: EnvInfo[][]): void {
  // A call that starts after another finished can only see the same or a later commit.
  for (let i = 1; i < batches.length; i++) {
    const previous = Math.max(...(batches[i - 1] ?? []).map((r) => r.lastTxnId));
    const current = Math.min(...(batches[i] ?? []).map((r) => r.lastTxnId));
    expect(current).toBeGreaterThanOrEqual(previous);
  }
}

describe('envInfo next to lmdb-js in the same process', () => {
  it('the addon links no LMDB and names no lock file', () => {
    loadBinding();
    const addon = readFileSync(fileURLToPath(new URL('../../build/Release/pagevault_native.node', import.meta.url)));
    expect(addon.includes('mdb_env_open')).toBe(false);
    expect(addon.includes('lock.mdb')).toBe(false);
    expect(addon.includes('-lock')).toBe(false);
  });

  it('keeps lmdb-js readers, locks and snapshots intact while another process writes', async () => {
    const envDir = join(ctx.dir, 'env');
    const lockPath = join(envDir, 'lock.mdb');
    const root = ctx.open({ maxDbs: SIDE_DBS + 10 });
    const data: Database<string, string> = root.openDB({ name: 'data' });
    for (let i = 0; i < SIDE_DBS; i++) root.openDB({ name: `side-${i}` });
    await data.transaction(() => {
      for (let k = 0; k < KEY_COUNT; k++) data.put(`k${k}`, `before-${k}`);
    });

    // Pin a snapshot. No writer exists yet, so the last commit is the snapshot's txn.
    const snapshotTxn = String((root.getStats() as { lastTxnId: number }).lastTxnId);
    const txn = root.useReadTransaction();
    let commits = 0;
    try {
      expect(data.get('k1', { transaction: txn })).toBe('before-1');
      const ours = (slots: ReaderSlot[]): ReaderSlot[] =>
        slots.filter((s) => s.pid === process.pid && s.txnid === snapshotTxn);
      expect(ours(parseReaderList(root.readerList()))).toHaveLength(1);
      const lockFdsBefore = lockFileDescriptors(lockPath);
      expect(lockFdsBefore).toBeGreaterThanOrEqual(1); // lmdb-js's own descriptor

      // At least two rounds over the keys, however slow the machine, so every key is overwritten under the snapshot.
      const writer = runNode(
        WRITER,
        [envDir, String(WRITE_MS), String(KEY_COUNT), String(SIDE_DBS), 'sync', String(2 * KEY_COUNT)],
        true,
      );
      await writer.ready;

      let lockFdsMax = lockFdsBefore;
      let midWriteReaders: ReaderSlot[] | undefined;
      const batches = await envInfoStorm(envDir, writer.done, async (batch) => {
        lockFdsMax = Math.max(lockFdsMax, lockFileDescriptors(lockPath));
        if (batch === 20) midWriteReaders = await childReaderList(envDir); // while the writer is still busy
      });
      const lines = await writer.done;
      commits = (JSON.parse(lines[lines.length - 1] ?? '{}') as { commits: number }).commits;

      // envInfo kept working and saw the writer's progress.
      expect(commits).toBeGreaterThan(100);
      expect(batches.length).toBeGreaterThan(20);
      expectMonotonic(batches);
      const all = batches.flat();
      expect(all.every((r) => r.namedDatabaseCount === SIDE_DBS + 1)).toBe(true);
      expect(Math.max(...all.map((r) => r.lastTxnId))).toBeGreaterThan(Number(snapshotTxn));
      expect(lockFdsMax).toBe(lockFdsBefore); // envInfo never opened lock.mdb

      // lmdb-js's reader table still lists our pinned reader, here and as seen by other processes after their
      // readerCheck(), during and after the writes.
      expect(midWriteReaders && ours(midWriteReaders)).toHaveLength(1);
      expect(ours(parseReaderList(root.readerList()))).toHaveLength(1);
      expect(ours(await childReaderList(envDir))).toHaveLength(1);

      // The pinned snapshot still reads its own values although the writer overwrote every key.
      expect(commits).toBeGreaterThan(KEY_COUNT);
      for (let k = 0; k < KEY_COUNT; k++) {
        expect(data.get(`k${k}`, { transaction: txn })).toBe(`before-${k}`);
      }
    } finally {
      txn.done();
    }

    // After the snapshot is released, the latest data is complete and envInfo agrees with lmdb-js.
    root.resetReadTxn();
    const finalInfo = await envInfo(envDir);
    const stats = root.getStats() as { lastTxnId: number; lastPageNumber: number };
    expect(finalInfo.lastTxnId).toBe(stats.lastTxnId);
    expect(finalInfo.lastPage).toBe(stats.lastPageNumber);
    expect(finalInfo.lastTxnId).toBeGreaterThanOrEqual(Number(snapshotTxn) + commits);
    const dataRecord = finalInfo.namedDatabases?.find((db) => db.name === 'data');
    expect(dataRecord?.entries).toBe(KEY_COUNT);
  });

  it('control: the reader checks above do detect a dropped pid lock', async () => {
    // What the addon must never do: open and close lock.mdb in this process. Closing any descriptor of the lock
    // file drops all of this process's fcntl locks, and the next process's readerCheck() then clears our reader.
    const envDir = join(ctx.dir, 'env');
    const root = ctx.open();
    await root.put('a', 1);
    const txn = root.useReadTransaction();
    try {
      const mine = (slots: ReaderSlot[]): ReaderSlot[] => slots.filter((s) => s.pid === process.pid && s.txnid !== '-');
      expect(mine(await childReaderList(envDir))).toHaveLength(1);
      closeSync(openSync(join(envDir, 'lock.mdb'), 'r'));
      expect(mine(await childReaderList(envDir))).toHaveLength(0);
      expect(mine(parseReaderList(root.readerList()))).toHaveLength(0);
    } finally {
      txn.done();
    }
  });

  it('gives exact final values after the writer is done', async () => {
    const envDir = join(ctx.dir, 'env');
    const root = ctx.open({ maxDbs: 20 });
    const data: Database<string, string> = root.openDB({ name: 'data' });
    await data.transaction(() => {
      for (let k = 0; k < KEY_COUNT; k++) data.put(`k${k}`, `before-${k}`);
    });
    const txn = root.useReadTransaction();
    let commits = 0;
    try {
      const writer = runNode(WRITER, [envDir, '1000', String(KEY_COUNT), '0'], true);
      await writer.ready;
      await envInfoStorm(envDir, writer.done);
      const lines = await writer.done;
      commits = (JSON.parse(lines[lines.length - 1] ?? '{}') as { commits: number }).commits;
      for (let k = 0; k < KEY_COUNT; k += 97) expect(data.get(`k${k}`, { transaction: txn })).toBe(`before-${k}`);
    } finally {
      txn.done();
    }
    root.resetReadTxn();
    for (let k = 0; k < KEY_COUNT; k++) expect(data.get(`k${k}`)).toBe(expectedValue(k, commits));
  });

  it('stays consistent with no reader pinning pages while another process recycles them', async () => {
    const envDir = join(ctx.dir, 'env');
    // noSync in both processes (lmdb-js refuses to mix it with overlappingSync): without overlappingSync's flushed
    // snapshot and with no read transaction held here, the writer reuses freed pages at once, so envInfo's walk
    // sometimes meets a page recycled under it (measured: ~1 call in 1,500) and must retry, not fail.
    const root = ctx.open({ maxDbs: SIDE_DBS + 10, noSync: true });
    const data = root.openDB({ name: 'data' });
    for (let i = 0; i < SIDE_DBS; i++) root.openDB({ name: `side-${i}` });
    await data.put('k0', 'before-0');
    const writer = runNode(WRITER, [envDir, String(WRITE_MS), String(KEY_COUNT), String(SIDE_DBS), 'nosync'], true);
    await writer.ready;
    const batches = await envInfoStorm(envDir, writer.done);
    await writer.done;
    expectMonotonic(batches);
    const all = batches.flat();
    expect(all.length).toBeGreaterThan(100);
    for (const result of all) {
      expect(result.namedDatabaseCount).toBe(SIDE_DBS + 1);
      expect(result.namedDatabases?.find((db) => db.name === 'data')?.entries).toBeGreaterThanOrEqual(1);
    }
  });
});
