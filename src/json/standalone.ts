/**
 * standalone: `exportJson` and `importJson`, the JSON export/import ("smuggler") without a
 * chain: an export of one consistent snapshot to any writable stream (a file, stdout, a
 * pipe), and an import of such a stream into a new database. `pagevault export` and
 * `pagevault import` are thin wrappers.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RootDatabase } from 'lmdb';
import { AbortedError, InvalidArgumentError } from '../errors.js';
import { refuseNonEmpty } from '../restore/snapshot-restore.js';
import { fsyncPath } from '../sinks/local.js';
import { envInfo, envPathOf, openRootFor, pinSnapshot, type PinnedSnapshot } from '../snapshot/index.js';
import { JsonApplier, type ApplyOptions, type ApplyResult } from './apply.js';
import { createJsonExport, openExportStores, type JsonExportOptions, type JsonExportStats } from './export.js';

/** ExportJsonOptions: the database, where to write, and the export choices. */
export interface ExportJsonOptions extends Omit<JsonExportOptions, 'name' | 'baseEtag'> {
  /** A path (pagevault opens it with lmdb-js) or the application's open lmdb-js root. */
  db: string | RootDatabase;
  /** Where the JSON lines go; ended when the export completes. */
  out: Writable;
  /** Name recorded in the header (default: the folder name). */
  name?: string;
}

/** exportJson: a full JSON export of one consistent snapshot of `db` into `out`. */
export async function exportJson(options: ExportJsonOptions): Promise<JsonExportStats & { seconds: number }> {
  const started = performance.now();
  const info = await envInfo(envPathOf(options.db));
  if (info.encrypted) throw new InvalidArgumentError('this environment is encrypted by lmdb-js; its pages cannot be exported as JSON');
  const { env, own } = typeof options.db === 'string' ? openRootFor(info, (info.namedDatabaseCount ?? 0) + 8) : { env: options.db, own: false };
  let pinned: PinnedSnapshot | undefined;
  try {
    const stores = openExportStores(env, info, options.dbOptions);
    pinned = await pinSnapshot(env);
    const name = options.name ?? basename(dirname(info.dataPath));
    const exporter = createJsonExport(pinned, info, stores, { ...options, name });
    await pipeline(Readable.from(exporter.chunks(), { objectMode: false }), options.out, { signal: options.signal });
    return { ...exporter.stats, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    if (options.signal?.aborted && !(err instanceof AbortedError)) throw new AbortedError('export aborted');
    throw err;
  } finally {
    pinned?.release();
    if (own) await env.close();
  }
}

/** ImportJsonOptions: where to build the database and from what. */
export interface ImportJsonOptions extends ApplyOptions {
  /** Directory of the new database: must not exist or be empty. */
  to: string;
  /** The JSON lines of one full export or backup payload. */
  input: Readable | AsyncIterable<Buffer | string>;
}

/**
 * importJson: a new database at `to` from one JSON export, built under a temporary name
 * beside it and renamed into place when complete; a failure (bad record, abort) leaves
 * nothing behind. Malformed input is an InvalidBackupRecordError with the record number.
 */
export async function importJson(options: ImportJsonOptions): Promise<ApplyResult & { to: string; seconds: number }> {
  const started = performance.now();
  const to = resolve(options.to);
  await refuseNonEmpty(to);
  const temp = join(dirname(to), `.${basename(to)}.pagevault-import-${randomBytes(4).toString('hex')}`);
  await mkdir(temp, { recursive: true });
  const applier = new JsonApplier(temp, options);
  try {
    await applier.applyFile(options.input as AsyncIterable<Buffer | string>);
    const result = await applier.finish();
    await applier.close();
    await fsyncPath(join(temp, 'data.mdb'));
    await fsyncPath(temp);
    await rename(temp, to);
    await fsyncPath(dirname(to));
    return { ...result, to, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    await applier.close().catch(() => undefined);
    await rm(temp, { recursive: true, force: true });
    if (options.signal?.aborted && !(err instanceof AbortedError)) throw new AbortedError('import aborted; nothing was left at the destination');
    throw err;
  }
}
