/**
 * snapshot-backup: one snapshot backup (full or page-level incremental) of an lmdb-js
 * environment, taken online, into a chain on a destination.
 *
 * Pipeline: openPageSource (lmdb-js pins transaction T; the native reader streams the
 * pages reachable at T, or only those written after the chain's last transaction) →
 * page records → BackupWriter (compress, encrypt, frame) → sink.put (`*.in-progress`,
 * fsync, rename) → manifest rewritten. Backpressure runs end to end: the native reader is
 * asked for the next batch only when the writer has room.
 *
 * Staging (`staging: true`): the page records go to a local temporary file first, at disk
 * speed; the snapshot is released as soon as that file is complete, then compression,
 * encryption and upload read from it. It shortens how long the read transaction is
 * pinned (and so how much the data file can grow under heavy writes) at the cost of one
 * extra write and read of the uncompressed pages.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RootDatabase } from 'lmdb';
import { AbortedError } from '../errors.js';
import { createBackupWriter, type BackupFileSummary } from '../format/index.js';
import type { LoadedKey } from '../keys/index.js';
import type { DestinationStatus, FanOutPolicy, FanOutResult } from '../sinks/fanout.js';
import { ByteCounter } from '../util/byte-counter.js';
import type { Sink } from '../sinks/sink.js';
import { encodePageRecords, envInfo, envPathOf, openPageSource, openRootFor, type EnvInfo, type PageSource } from '../snapshot/index.js';
import { decodePageHashes, encodePageHashes, hashDiffSource, type PageHashes } from '../snapshot/page-hash-diff.js';
import type { CompressionName } from '../transforms/index.js';
import { newestChain } from './chain-store.js';
import { onEveryDestination, openLockedDestinations, putFile, writeManifests, type ChainChoice, type Destination, type UploadMode } from './destinations.js';
import { withFile, type DatabaseIdentity, type ManifestFile } from './manifest.js';
import { backupFileName, chainFolderName, safeDatabaseName, type FileKind } from './naming.js';

/** SnapshotBackupOptions: see `pagevault backup --help`. */
export interface SnapshotBackupOptions {
  /** The database: a path (pagevault opens it with lmdb-js), or the application's open lmdb-js root. */
  db: string | RootDatabase;
  /**
   * Destination(s): a folder path, a sink URL (s3://, azure://, gs://, ftp://, ftps://,
   * sftp://, file://) or a Sink; an array writes the same backup to each in one pass.
   */
  destination: Destination | Destination[];
  /** Several destinations: 'all' (default) fails the backup if any fails; 'best-effort' needs one. */
  policy?: FanOutPolicy;
  /** Several destinations: 'fan-out' (default, one pass to all) or 'local-first' (see UploadMode). */
  upload?: UploadMode;
  /** Add an incremental to the newest usable chain; a full is taken when there is none (the result says why). */
  incremental?: boolean;
  /** Name used in chain folder names; default: the database folder's name. */
  name?: string;
  /** Default 'zstd'. */
  compression?: CompressionName;
  /** Codec level (zstd 1-19, default 3; gzip 1-9, default 6). */
  level?: number;
  /** Encrypt with this key (AES-256-GCM). A chain is all encrypted with one key or not at all. */
  key?: LoadedKey;
  /**
   * The database's own key, when lmdb-js encrypts it (`encryptionKey`, 32 characters): needed to open it by path
   * and for incrementals (which walk its trees); a full snapshot copies the encrypted pages as they are. Never
   * written into a backup.
   */
  dbKey?: string;
  /** Stage pages in a local temporary file first (see the module comment); default false. */
  staging?: boolean;
  /** Where staging files go; default the system temp folder. */
  stagingDir?: string;
  /** Called after every batch of pages. */
  onProgress?: (p: BackupProgress) => void;
  signal?: AbortSignal;
  /** Clock for names and times (tests inject one). */
  now?: () => Date;
  /**
   * A one-time (manual) backup: a new chain is marked manual in its manifest, so retention
   * never removes it and task backups never extend it; with `incremental` it extends the
   * newest manual chain. Default false.
   */
  manual?: boolean;
}

/** BackupProgress: counters for a progress bar. `totalPages` is known once the tree walk is done. */
export interface BackupProgress {
  phase: 'pages' | 'upload';
  pages: number;
  totalPages: number;
  bytesIn: number;
  bytesOut: number;
  elapsedMs: number;
  /** Bytes each destination has taken so far (in the order given). */
  destinations: DestinationUpload[];
}

/** DestinationUpload: one destination's upload progress. */
export interface DestinationUpload {
  destination: string;
  bytes: number;
}

/** SnapshotBackupResult: what one backup wrote. */
export interface SnapshotBackupResult {
  /** The first destination's name. */
  destination: string;
  /** Every destination: completed or not, bytes, time, error. */
  destinations: DestinationStatus[];
  /** Chain folder (relative to the destination). */
  chain: string;
  /** File name inside the chain folder. */
  file: string;
  kind: FileKind;
  seq: number;
  baseTxnId: number;
  txnId: number;
  /** Why a full was taken when an incremental was asked for. */
  fullReason?: string;
  pages: number;
  pagesVisited: number;
  lastPage: number;
  pageSize: number;
  plaintextBytes: number;
  bytesWritten: number;
  sha256: string;
  encrypted: boolean;
  compression: string;
  seconds: number;
  /** How long the read transaction was pinned. */
  pinnedMs: number;
  /** How much data.mdb grew while the snapshot was pinned (writers could not reuse pages). */
  dataFileGrowthBytes: number;
  staged: boolean;
  /**
   * How changed pages were found: 'txnid' (page headers' transaction ids: a walk that prunes unchanged subtrees) or
   * 'page-hash' (data format 1 has none: every page is read and its xxh64 compared with the base's).
   */
  diff: 'txnid' | 'page-hash';
}


/** backupSnapshot: take one snapshot backup. Only one runs per database at a time (BackupRunningError). */
export async function backupSnapshot(options: SnapshotBackupOptions): Promise<SnapshotBackupResult> {
  const now = options.now ?? (() => new Date());
  const started = performance.now();
  if (options.signal?.aborted) throw new AbortedError('backup aborted before it started');
  const envPath = envPathOf(options.db);
  // envInfo first: a missing or non-LMDB path is a clear error, and lmdb-js would create a new database there.
  const info = await envInfo(envPath);
  const dests = await openLockedDestinations(options.destination, info.dataPath, 'snapshot backup');
  const { lock } = dests;
  const sink = dests.sinks[0];
  let env: RootDatabase | undefined;
  let ownEnv = false;
  let source: PageSource | undefined;
  let staging: string | undefined;
  try {
    if (typeof options.db !== 'string') env = options.db;
    else {
      // A handle this process already has open on the same environment is used as is: opening a second
      // lmdb-js handle runs a synchronous write transaction (lmdb-js's openDB does), which deadlocks while the
      // first handle's writer thread holds the write lock waiting for a JS transaction callback.
      ({ env, own: ownEnv } = openRootFor(info, 1, options.dbKey));
    }

    const name = safeDatabaseName(options.name ?? defaultName(info));
    const fileStat = await stat(info.dataPath);
    const identity: DatabaseIdentity = { name, path: info.dataPath, dev: fileStat.dev, ino: fileStat.ino };
    const startedAt = now();
    const choice: ChainChoice = await onEveryDestination(options.incremental ? await chooseChain(sink, name, identity, info, options.key, options.manual === true) : { folder: '', fullReason: undefined }, dests.sinks);
    // A passphrase key extends a chain under the chain's own salt, so every file shares one key id.
    const key = choice.key ?? options.key;
    const last = choice.manifest?.files.at(-1);
    const baseTxnId = choice.manifest && last ? last.txnId : 0;
    const folder = choice.manifest ? choice.folder : chainFolderName(startedAt, name, 'snapshot');

    let pages = 0;
    let totalPages = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    const uploaded: number[] = dests.sinks.map(() => 0);
    const report = (phase: BackupProgress['phase']): void =>
      options.onProgress?.({ phase, pages, totalPages, bytesIn, bytesOut, elapsedMs: performance.now() - started, destinations: dests.sinks.map((d, i) => ({ destination: d.name, bytes: uploaded[i] })) });
    const onPages = (n: number, b: number): void => {
      pages += n;
      bytesIn += b;
      report('pages');
    };

    const sizeBefore = fileStat.size;
    const pinStarted = performance.now();
    // Data format 1 pages carry no txnid: walk everything and ship the pages whose hash changed (page-hash-diff.ts).
    const hashDiff = info.format.dataVersion === 1;
    const pageHashes: PageHashes | undefined = hashDiff ? new Map() : undefined;
    if (hashDiff) {
      const base = baseTxnId ? { txnId: baseTxnId, hashes: await readPageHashes(sink, folder, last!) } : undefined;
      // Progress counts the pages read and hashed (all of them), not the few shipped, so it ends at 100%.
      const examined = withProgress(await openPageSource(env, { signal: options.signal }), (n, b) => onPages(n, b));
      source = await hashDiffSource(examined, base, pageHashes!);
    } else {
      source = await openPageSource(env, { baseTxnId, signal: options.signal, envKey: options.dbKey });
    }
    const kind: FileKind = source.mode === 'full' ? 'full-snapshot' : 'incremental-snapshot';
    const seq = choice.manifest ? choice.manifest.files.length : 0;
    const chainId = choice.manifest?.chainId ?? randomUUID();
    const fileName = backupFileName(startedAt, kind, key !== undefined);
    totalPages = source.stats.pagesToShip;

    const writer = createBackupWriter(
      {
        kind,
        database: name,
        chainId,
        sequence: seq,
        baseTxnId: baseTxnId || null,
        snapshotTxnId: source.txnId,
        pageSize: source.pageSize,
        createdAt: startedAt,
        meta: { lastPage: source.lastPage, dataVersion: source.format.dataVersion, encryptedEnv: source.encrypted, tool: 'pagevault' },
      },
      { compression: options.compression, level: options.level, key },
    );

    const countOut = new ByteCounter((total) => {
      bytesOut = total;
    });

    let pinnedMs: number;
    let sizeAfter: number;
    const records = Readable.from(encodePageRecords(hashDiff ? source : withProgress(source, (n, b) => onPages(n, b))), { objectMode: false });
    let fan: FanOutResult | undefined;
    const put = async (body: Readable): Promise<void> => {
      fan = await putFile(dests.sinks, `${folder}/${fileName}`, body, { signal: options.signal, upload: options.upload, onDestinationBytes: (i, n) => (uploaded[i] = n) });
    };

    if (options.staging) {
      staging = await mkdtemp(join(options.stagingDir ?? tmpdir(), 'pagevault-stage-'));
      const stagedFile = join(staging, 'pages');
      await pipeline(records, createWriteStream(stagedFile), { signal: options.signal });
      await source.close();
      pinnedMs = performance.now() - pinStarted;
      sizeAfter = (await stat(info.dataPath)).size;
      const reading = createReadStream(stagedFile, { highWaterMark: 1 << 20 });
      const uploaded = new ByteCounter(() => report('upload'));
      await Promise.all([put(countOut), pipeline(reading, uploaded, writer, countOut, { signal: options.signal })]);
    } else {
      await Promise.all([put(countOut), pipeline(records, writer, countOut, { signal: options.signal })]);
      await source.close();
      pinnedMs = performance.now() - pinStarted;
      sizeAfter = (await stat(info.dataPath)).size;
    }
    const summary: BackupFileSummary = await writer.done;
    const hashesName = pageHashes ? `${fileName}.pagehashes` : undefined;
    if (pageHashes) {
      // Beside the file, on every destination that took it: the next incremental diffs against these.
      await putFile(dests.sinks.filter((_, i) => fan!.destinations[i].ok), `${folder}/${hashesName}`, Readable.from([encodePageHashes(pageHashes)]), { signal: options.signal });
    }

    const entry: ManifestFile = {
      name: fileName,
      kind,
      seq,
      baseTxnId,
      txnId: source.txnId,
      lastPage: source.lastPage,
      size: summary.bytes,
      sha256: summary.sha256,
      created: startedAt.toISOString(),
      pages: source.stats.pagesShipped,
      plaintextBytes: summary.plaintextBytes,
      ...(hashesName ? { pageHashes: hashesName } : {}),
    };
    const manifest = withFile(choice.manifest, entry, {
      chainId,
      type: 'snapshot',
      database: identity,
      pageSize: source.pageSize,
      lmdbFormat: { dataVersion: source.format.dataVersion, pageHeaderSize: source.format.pageHeaderSize },
      key,
      compression: summary.header.compression.name,
      created: startedAt,
      manual: options.manual === true,
    });
    await writeManifests(dests.sinks, fan!, folder, manifest, options.policy);
    report('upload');

    return {
      destination: sink.name,
      destinations: fan!.destinations,
      chain: folder,
      file: fileName,
      kind,
      seq,
      baseTxnId,
      txnId: source.txnId,
      ...(kind === 'full-snapshot' && options.incremental ? { fullReason: choice.fullReason ?? 'no usable chain' } : {}),
      pages: source.stats.pagesShipped,
      pagesVisited: source.stats.pagesVisited,
      lastPage: source.lastPage,
      pageSize: source.pageSize,
      plaintextBytes: summary.plaintextBytes,
      bytesWritten: summary.bytes,
      sha256: summary.sha256,
      encrypted: key !== undefined,
      compression: summary.header.compression.name,
      seconds: (performance.now() - started) / 1000,
      pinnedMs,
      dataFileGrowthBytes: Math.max(0, sizeAfter - sizeBefore),
      staged: options.staging === true,
      diff: pageHashes ? 'page-hash' : 'txnid',
    };
  } catch (err) {
    if (options.signal?.aborted && !(err instanceof AbortedError)) throw new AbortedError('backup aborted; no file was completed');
    throw err;
  } finally {
    await source?.close();
    if (staging) await rm(staging, { recursive: true, force: true });
    if (ownEnv) await env?.close();
    lock.release();
    await dests.close();
  }
}

export function defaultName(info: EnvInfo): string {
  const dir = dirname(info.dataPath);
  return basename(info.dataPath) === 'data.mdb' ? basename(dir) : basename(info.dataPath).replace(/\.[^.]*$/, '');
}

/**
 * chooseChain: the newest chain of `name` that an incremental can extend, or why not.
 * An incremental is only correct on the very environment the chain started from, at a
 * later transaction, with the same page layout and the same encryption key.
 */
async function chooseChain(sink: Sink, name: string, identity: DatabaseIdentity, info: EnvInfo, key: LoadedKey | undefined, manual: boolean): Promise<ChainChoice> {
  const found = await newestChain(sink, name, 'snapshot', manual);
  if ('fullReason' in found) return { folder: '', fullReason: found.fullReason };
  const { manifest } = found;
  const last = manifest.files.at(-1);
  const chainKey = key?.kdf && manifest.kdf ? await key.forKdf(manifest.kdf) : key;
  const why = !last
    ? 'the newest chain has no files'
    : info.format.dataVersion === 1 && !last.pageHashes
      ? 'the chain\'s last file has no page hashes to diff a data format 1 environment against'
    : manifest.database.dev !== identity.dev || manifest.database.ino !== identity.ino
      ? 'the data file was replaced since the chain started (restored, compacted or recreated)'
      : info.lastTxnId < last.txnId
        ? `the database is at txn ${info.lastTxnId}, before the chain's last backup (txn ${last.txnId}): it was replaced or restored`
        : manifest.pageSize !== info.pageSize || manifest.lmdbFormat.dataVersion !== info.format.dataVersion
          ? 'the page size or data format changed'
          : (manifest.keyId ?? null) !== (chainKey?.id ?? null)
            ? 'the encryption key (or its absence) differs from the chain’s'
            : undefined;
  if (why) return { folder: '', fullReason: why };
  return { folder: found.folder, manifest, key: chainKey };
}

/** readPageHashes: the page hashes stored beside `file` of the chain in `folder`. */
async function readPageHashes(sink: Sink, folder: string, file: ManifestFile): Promise<PageHashes> {
  const key = `${folder}/${file.pageHashes}`;
  const chunks: Buffer[] = [];
  for await (const c of await sink.get(key)) chunks.push(c as Buffer);
  return decodePageHashes(Buffer.concat(chunks), `${sink.name}/${key}`);
}

/** withProgress: the source, reporting each batch's page count and bytes as it passes. */
function withProgress(source: PageSource, onBatch: (pages: number, bytes: number) => void): PageSource {
  return new Proxy(source, {
    get(target, prop) {
      if (prop !== 'batches') {
        // Getters run on the source itself: a class's private fields are not reachable through the proxy.
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return async function* () {
        for await (const batch of target.batches()) {
          let n = 0;
          for (let i = 1; i < batch.runs.length; i += 2) n += batch.runs[i];
          onBatch(n, batch.data.length);
          yield batch;
        }
      };
    },
  });
}
