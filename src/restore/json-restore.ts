/**
 * json-restore: build a new environment from a JSON backup chain (`type: 'backup'`): the
 * full and its incrementals up to a chosen point, then index definitions and index data.
 *
 * Same guarantees as snapshot-restore: every file to apply is found and its header checked
 * (chain, position, key) before anything is written; files are read chunk by chunk with
 * their checksums or authentication tags and compared with the manifest's whole-file hash;
 * the database is built in a temporary folder beside `to`, fsynced and renamed into place
 * only when complete; any failure removes the temporary folder and leaves `to` untouched.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ensureChainMatches } from '../backup/manifest.js';
import { AbortedError, BackupCorruptError } from '../errors.js';
import { createBackupReader } from '../format/index.js';
import { JsonApplier, type ApplyProgress } from '../json/apply.js';
import { fsyncPath } from '../sinks/local.js';
import { ByteCounter } from '../util/byte-counter.js';
import { openChain, readHeader, refuseNonEmpty, selectFiles, type SnapshotRestoreOptions } from './snapshot-restore.js';
import { getObject } from '../sinks/parallel-get.js';

/** JsonRestoreOptions: SnapshotRestoreOptions (`compact` does not apply) plus the JSON-only choices. */
export interface JsonRestoreOptions extends Omit<SnapshotRestoreOptions, 'compact' | 'onProgress'> {
  /** Store the index definitions but leave their data to be built later (`rebuildIndex`). */
  skipIndexes?: boolean;
  onProgress?: (p: JsonRestoreProgress) => void;
}

/** JsonRestoreProgress: which file, and the applier's counters (records phase, then indexes). */
export interface JsonRestoreProgress extends ApplyProgress {
  file: string;
  fileIndex: number;
  files: number;
  bytesRead: number;
}

/** JsonRestoreResult: what was restored. */
export interface JsonRestoreResult {
  to: string;
  kind: 'docdb' | 'env';
  /** Transaction id of the source snapshot the last file captured. */
  txnId: number;
  lastEtag: number | null;
  files: string[];
  docs: number;
  tombstones: number;
  entries: number;
  indexes: number;
  indexEntries: number;
  bytesRead: number;
  recordSeconds: number;
  indexSeconds: number;
  seconds: number;
}

/** restoreJson: see the module comment. */
export async function restoreJson(options: JsonRestoreOptions): Promise<JsonRestoreResult> {
  const started = performance.now();
  const to = resolve(options.to);
  await refuseNonEmpty(to);
  const { sink, folder, manifest, ownSink } = await openChain(options.from);
  try {
    const files = selectFiles(manifest, options.upto, 'backup');
    for (const file of files) {
      const header = await readHeader(sink, folder, file, options.key);
      ensureChainMatches(manifest, file, header, `${folder}/${file.name}`);
    }
    const temp = join(dirname(to), `.${basename(to)}.pagevault-restore-${randomBytes(4).toString('hex')}`);
    await mkdir(temp, { recursive: true });
    let bytesRead = 0;
    let current = { file: '', fileIndex: 0 };
    const applier = new JsonApplier(temp, {
      skipIndexes: options.skipIndexes,
      signal: options.signal,
      onProgress: (p) => options.onProgress?.({ ...p, ...current, files: files.length, bytesRead }),
    });
    try {
      for (const [i, file] of files.entries()) {
        if (options.signal?.aborted) throw new AbortedError('restore aborted');
        current = { file: file.name, fileIndex: i };
        // A readable side of a few chunks lets decompression run ahead of the importer.
        const reader = createBackupReader({ key: options.key, readAheadChunks: 4 });
        const input = await getObject(sink, `${folder}/${file.name}`, file.size, { signal: options.signal });
        const before = bytesRead;
        const counted = new ByteCounter((total) => {
          bytesRead = before + total;
        });
        await pipeline(
          input,
          counted,
          reader,
          async (plain: AsyncIterable<Buffer>) => {
            await applier.applyFile(plain);
          },
          { signal: options.signal },
        );
        bytesRead = before + counted.bytes;
        const summary = await reader.done;
        if (summary.sha256 !== file.sha256) throw new BackupCorruptError(`chain file ${file.name} does not match the hash in the manifest`);
      }
      const applied = await applier.finish();
      await applier.close();
      await fsyncPath(join(temp, 'data.mdb'));
      await fsyncPath(temp);
      await rename(temp, to);
      await fsyncPath(dirname(to));
      return {
        to,
        kind: applied.kind,
        txnId: applied.txnId,
        lastEtag: applied.lastEtag,
        files: files.map((f) => f.name),
        docs: applied.docs,
        tombstones: applied.tombstones,
        entries: applied.entries,
        indexes: applied.indexes,
        indexEntries: applied.indexEntries,
        bytesRead,
        recordSeconds: applied.recordSeconds,
        indexSeconds: applied.indexSeconds,
        seconds: (performance.now() - started) / 1000,
      };
    } catch (err) {
      await applier.close().catch(() => undefined);
      await rm(temp, { recursive: true, force: true });
      if (options.signal?.aborted && !(err instanceof AbortedError)) throw new AbortedError('restore aborted; nothing was left at the destination');
      throw err;
    }
  } finally {
    if (ownSink) await sink.close();
  }
}
