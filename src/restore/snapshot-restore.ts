/**
 * snapshot-restore: rebuild an environment from a snapshot chain (a full and any number of
 * its incrementals, up to a chosen point).
 *
 * Nothing is written until every file to apply has been found, has the size the manifest
 * records, and has a header that belongs to this chain at its position and opens with
 * the key given (so a missing file, a file from another chain, a wrong or missing key
 * fail before any output). Then the files are applied in order into `<to>` under a
 * temporary name beside it, each checked chunk by chunk (checksums or authentication
 * tags) and against its whole-file hash in the manifest; the result is fsynced and
 * renamed into place. A failure at any point removes the temporary folder; an existing
 * destination is never touched (restore refuses one that holds anything).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open as openFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { open } from 'lmdb';
import { basename, dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ensureChainMatches } from '../backup/manifest.js';
import { readManifest } from '../backup/chain-store.js';
import type { ChainManifest, ManifestFile } from '../backup/manifest.js';
import {
  AbortedError,
  BackupCorruptError,
  BackupTruncatedError,
  ChainBrokenError,
  ChainMismatchError,
  DestinationNotEmptyError,
  InvalidArgumentError,
  UnsupportedBackupError,
} from '../errors.js';
import { createBackupReader, type BackupHeader, type BackupReader } from '../format/index.js';
import type { LoadedKey } from '../keys/index.js';
import { fsyncPath, LocalSink } from '../sinks/local.js';
import { openSink } from '../sinks/registry.js';
import { isNotFound, type Sink } from '../sinks/sink.js';
import { ChainWriter } from '../snapshot/index.js';
import { ByteCounter } from '../util/byte-counter.js';
import { getObject } from '../sinks/parallel-get.js';

/** ChainLocation: a chain folder path, `<destination URL>/<chain folder>`, or a sink and the chain's folder key on it. */
export type ChainLocation = string | { sink: Sink; chain: string };

/** SnapshotRestoreOptions: see `pagevault restore --help`. */
export interface SnapshotRestoreOptions {
  from: ChainLocation;
  /** Environment directory to create; must not exist or be empty. */
  to: string;
  /** Restore up to this point: a transaction id of one of the chain's files, or a file name. Default: the last file. */
  upto?: number | string;
  /** Key of an encrypted chain. */
  key?: LoadedKey;
  /**
   * Compact (defragment) the restored environment: rebuild it with lmdb-js's compacting copy
   * (`backup(dir, true)`, LMDB's mdb_env_copy2 with MDB_CP_COMPACT), which drops free pages
   * and renumbers the rest. Same content, smaller file; transaction ids restart.
   */
  compact?: boolean;
  onProgress?: (p: RestoreProgress) => void;
  signal?: AbortSignal;
}

/** RestoreProgress: per file applied; files are applied newest first, so `fileIndex` counts steps, not chain positions. */
export interface RestoreProgress {
  file: string;
  fileIndex: number;
  files: number;
  bytesRead: number;
  elapsedMs: number;
}

/** SnapshotRestoreResult: what was restored. */
export interface SnapshotRestoreResult {
  to: string;
  txnId: number;
  files: string[];
  /** Pages written: each once, from the newest file that holds it. */
  pages: number;
  bytesRead: number;
  seconds: number;
}

/** openChain: resolve a ChainLocation to a sink, folder and manifest. */
export async function openChain(from: ChainLocation): Promise<{ sink: Sink; folder: string; manifest: ChainManifest; ownSink: boolean }> {
  if (typeof from === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(from) && !from.startsWith('file://')) {
    // A chain on a remote destination: `<destination URL>/<chain folder>` (query options stay on the destination).
    const q = from.indexOf('?');
    const path = q < 0 ? from : from.slice(0, q);
    const query = q < 0 ? '' : from.slice(q);
    const cut = path.replace(/\/+$/, '').lastIndexOf('/');
    const folder = path.replace(/\/+$/, '').slice(cut + 1);
    const sink = await openSink(path.slice(0, cut) + query);
    try {
      return { sink, folder, manifest: await readManifest(sink, folder), ownSink: true };
    } catch (err) {
      await sink.close();
      throw err;
    }
  }
  if (typeof from === 'string') {
    const abs = resolve(from);
    const sink = new LocalSink(dirname(abs));
    try {
      await stat(abs);
    } catch (err) {
      throw new ChainBrokenError(`no chain folder at ${abs} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return { sink, folder: basename(abs), manifest: await readManifest(sink, basename(abs)), ownSink: true };
  }
  return { sink: from.sink, folder: from.chain, manifest: await readManifest(from.sink, from.chain), ownSink: false };
}

/** selectFiles: the manifest files up to `upto` (a txn id or a file name). */
export function selectFiles(manifest: ChainManifest, upto: number | string | undefined, type: ChainManifest['type'] = 'snapshot'): ManifestFile[] {
  if (manifest.type !== type) throw new UnsupportedBackupError(`chain is of type ${manifest.type}; this restore needs a ${type} chain`);
  if (manifest.files.length === 0) throw new ChainBrokenError('chain has no files');
  if (upto === undefined) return manifest.files;
  const i = manifest.files.findIndex((f) => (typeof upto === 'number' ? f.txnId === upto : f.name === upto));
  if (i < 0) {
    const points = manifest.files.map((f) => `${f.name} (txn ${f.txnId})`).join(', ');
    throw new InvalidArgumentError(`${JSON.stringify(upto)} is not a point of this chain; it has: ${points}`);
  }
  return manifest.files.slice(0, i + 1);
}

/** readHeader: the header of a chain file, checked for key and chain membership; nothing else is read. */
export async function readHeader(sink: Sink, folder: string, file: ManifestFile, key: LoadedKey | undefined): Promise<BackupHeader> {
  const objectKey = `${folder}/${file.name}`;
  let size: number;
  try {
    size = (await sink.stat(objectKey)).size;
  } catch (err) {
    if (isNotFound(err)) throw new ChainBrokenError(`chain file ${file.name} is missing from ${sink.name}/${folder}`);
    throw err;
  }
  if (size < file.size) throw new BackupTruncatedError(`chain file ${file.name} is ${size} bytes; the manifest records ${file.size}`);
  if (size > file.size) throw new BackupCorruptError(`chain file ${file.name} is ${size} bytes; the manifest records ${file.size}`);
  const reader = createBackupReader({ key });
  const input = await sink.get(objectKey, { start: 0, end: Math.min(size, 2 * 1024 * 1024) - 1 });
  const discard = new Writable({ write: (_c, _e, cb) => cb() });
  const flowing = pipeline(input, reader, discard).catch(() => undefined);
  try {
    return await reader.header;
  } finally {
    input.destroy();
    reader.destroy();
    await flowing;
  }
}

/** restoreSnapshot: see the module comment. */
export async function restoreSnapshot(options: SnapshotRestoreOptions): Promise<SnapshotRestoreResult> {
  const started = performance.now();
  const to = resolve(options.to);
  await refuseNonEmpty(to);
  const { sink, folder, manifest, ownSink } = await openChain(options.from);
  try {
    const files = selectFiles(manifest, options.upto);
    for (const file of files) {
      const header = await readHeader(sink, folder, file, options.key);
      ensureChainMatches(manifest, file, header, `${folder}/${file.name}`);
    }
    const temp = join(dirname(to), `.${basename(to)}.pagevault-restore-${randomBytes(4).toString('hex')}`);
    await mkdir(temp, { recursive: true });
    let bytesRead = 0;
    let pages = 0;
    // The files are written newest first, each page once (see chain-writer.ts), and decoded one ahead: while one
    // file's pages are written, the next is already being read, checked, decrypted and decompressed (up to its
    // reader's buffer), so the short files of a long chain do not each pay the start-up and drain of the
    // pipeline on the critical path.
    const order = files.map((_, i) => files.length - 1 - i);
    const opened: OpenedFile[] = [];
    const chain = new ChainWriter(join(temp, 'data.mdb'));
    try {
      const openAt = (step: number): OpenedFile | undefined => {
        if (step >= order.length) return undefined;
        const file = files[order[step]];
        opened[step] ??= openChainFile(sink, `${folder}/${file.name}`, file.size, options.key, options.signal);
        return opened[step];
      };
      for (const [step, i] of order.entries()) {
        const file = files[i];
        if (options.signal?.aborted) throw new AbortedError('restore aborted');
        const current = openAt(step)!;
        openAt(step + 1);
        const reader = await current.reader;
        const [applied] = await Promise.all([chain.addFile(reader, (chunk) => reader.recycle(chunk)), current.flowing]);
        bytesRead += current.counted.bytes;
        const summary = await reader.done;
        if (summary.sha256 !== file.sha256) throw new BackupCorruptError(`chain file ${file.name} does not match the hash in the manifest`);
        if (applied.header.txnId !== file.txnId) throw new BackupCorruptError(`chain file ${file.name} restores txn ${applied.header.txnId}; the manifest says ${file.txnId}`);
        const base = i === 0 ? 0 : files[i - 1].txnId;
        if (applied.header.baseTxnId !== base) {
          throw new ChainMismatchError(`chain file ${file.name} applies to txn ${applied.header.baseTxnId}; its predecessor is at txn ${base}`);
        }
        pages += applied.pagesWritten;
        options.onProgress?.({ file: file.name, fileIndex: step, files: files.length, bytesRead, elapsedMs: performance.now() - started });
      }
      await chain.finish();
      let result = temp;
      if (options.compact) {
        result = `${temp}-compact`;
        await mkdir(result);
        await compactCopy(temp, result);
        await rm(temp, { recursive: true, force: true });
      }
      await fsyncPath(result);
      await rename(result, to);
      await fsyncPath(dirname(to));
    } catch (err) {
      // Whichever side failed first, stop every file still open so no reader or file handle is left behind.
      await Promise.all(opened.map((f) => f?.destroy()));
      await chain.abort();
      await rm(temp, { recursive: true, force: true });
      await rm(`${temp}-compact`, { recursive: true, force: true });
      if (options.signal?.aborted && !(err instanceof AbortedError)) throw new AbortedError('restore aborted; nothing was left at the destination');
      throw err;
    }
    const last = files[files.length - 1];
    return { to, txnId: last.txnId, files: files.map((f) => f.name), pages, bytesRead, seconds: (performance.now() - started) / 1000 };
  } finally {
    if (ownSink) await sink.close();
  }
}

/** OpenedFile: one chain file flowing from its destination through a verifying reader, started ahead of its use. */
interface OpenedFile {
  /** reader: the file's verified plaintext (a page record stream); rejects if the object cannot be opened. */
  reader: Promise<BackupReader>;
  /** flowing: settles when the file's bytes have all gone through the reader (rejects with the first error). */
  flowing: Promise<void>;
  counted: ByteCounter;
  /** destroy: stops the file's streams; never rejects. */
  destroy(): Promise<void>;
}

/**
 * openChainFile: starts reading `key` into a backup reader at once. The reader decodes ahead only as far as its
 * buffer allows, so an opened file that is not consumed yet holds a few chunks, not the whole file.
 */
function openChainFile(sink: Sink, key: string, size: number, backupKey: LoadedKey | undefined, signal: AbortSignal | undefined): OpenedFile {
  const reader = createBackupReader({ key: backupKey, readAheadChunks: READ_AHEAD_CHUNKS, recycleChunks: true });
  const counted = new ByteCounter();
  const input = getObject(sink, key, size, { signal });
  const flowing = input.then((stream) => pipeline(stream, counted, reader, { signal }));
  // Awaited by the restore loop when this file's turn comes; until then a failure must not count as unhandled.
  flowing.catch(() => undefined);
  return {
    reader: input.then(() => reader),
    flowing,
    counted,
    async destroy() {
      reader.destroy();
      (await input.catch(() => undefined))?.destroy();
      await flowing.catch(() => undefined);
    },
  };
}

/**
 * READ_AHEAD_CHUNKS: verified chunks (4 MiB by default) a reader may hold before it waits for its consumer, on
 * top of the chunks its codec workers are decompressing.
 */
const READ_AHEAD_CHUNKS = 2;

/** compactCopy: lmdb-js's compacting copy of the environment in `from` into the empty folder `to`, fsynced. */
async function compactCopy(from: string, to: string): Promise<void> {
  // noSubdir: false: lmdb-js would take a folder name with a dot for a data file.
  const env = open({ path: from, readOnly: true, noSubdir: false });
  try {
    await env.backup(to, true);
  } finally {
    await env.close();
  }
  const fh = await openFile(join(to, 'data.mdb'), 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** refuseNonEmpty: a restore never writes into a folder that holds anything. */
export async function refuseNonEmpty(to: string): Promise<void> {
  try {
    const s = await stat(to);
    if (!s.isDirectory()) throw new DestinationNotEmptyError(`${to} exists and is not a directory`);
    if ((await readdir(to)).length > 0) throw new DestinationNotEmptyError(`${to} already holds data; restore only into a new or empty directory`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
}
