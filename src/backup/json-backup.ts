/**
 * json-backup: one JSON backup (`type: 'backup'`, full or incremental) of an lmdb-js
 * environment, taken online, into a chain on a destination.
 *
 * Pipeline: lmdb-js pins transaction T → the JSON export of T (src/json/export.ts: the
 * native cursor for bulk data, lmdb-js with the pinned read transaction for the rest) →
 * BackupWriter (compress, encrypt, frame) → sink.put (`*.in-progress`, fsync, rename) →
 * manifest rewritten. Backpressure runs end to end: the native cursor is asked for its
 * next batch only when the writer has room.
 *
 * Incrementals exist for pagevault document databases only: they carry the documents
 * written after the chain's last etag, the tombstones of deletes since then, and all
 * identities and index definitions. A chain is extended only by the database it started
 * from (its document database id), at an etag not before the chain's last. Generic
 * environments have no etags: an incremental JSON backup of one is refused
 * (IncrementalUnavailableError) in favour of incremental snapshots.
 */
import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RootDatabase } from 'lmdb';
import { AbortedError, IncrementalUnavailableError, InvalidArgumentError } from '../errors.js';
import { putTombstoneConsumer } from '../docdb/database.js';
import { createBackupWriter } from '../format/index.js';
import { createJsonExport, openExportStores, type JsonExportOptions } from '../json/export.js';
import type { LoadedKey } from '../keys/index.js';
import type { DestinationStatus, FanOutResult } from '../sinks/fanout.js';
import type { Sink } from '../sinks/sink.js';
import { envInfo, envPathOf, openRootFor, pinSnapshot, type EnvInfo, type PinnedSnapshot } from '../snapshot/index.js';
import { ByteCounter } from '../util/byte-counter.js';
import { newestChain } from './chain-store.js';
import { onEveryDestination, openLockedDestinations, putFile, writeManifests, type ChainChoice } from './destinations.js';
import { withFile, type DatabaseIdentity, type ManifestFile } from './manifest.js';
import { backupFileName, chainFolderName, safeDatabaseName, type FileKind } from './naming.js';
import { defaultName, type DestinationUpload, type SnapshotBackupOptions } from './snapshot-backup.js';

/** JsonBackupOptions: the snapshot options that apply, plus what a JSON export takes. */
export interface JsonBackupOptions extends Omit<SnapshotBackupOptions, 'staging' | 'stagingDir' | 'onProgress' | 'dbKey'> {
  /** Document databases: only these collections. */
  collections?: string[];
  /** Generic environments: lmdb-js options per named database ('' = root store). */
  dbOptions?: JsonExportOptions['dbOptions'];
  /** Use the native export cursor (default true). */
  native?: boolean;
  onProgress?: (p: JsonBackupProgress) => void;
}

/** JsonBackupProgress: counters for a progress bar. */
export interface JsonBackupProgress {
  phase: 'export' | 'done';
  records: number;
  /** Estimated records in all (from the B-tree entry counts, or the etag range of an incremental). */
  estimatedRecords: number;
  docs: number;
  bytesIn: number;
  bytesOut: number;
  elapsedMs: number;
  /** Bytes each destination has taken so far (in the order given). */
  destinations: DestinationUpload[];
}

/** JsonBackupResult: what one JSON backup wrote. */
export interface JsonBackupResult {
  destination: string;
  destinations: DestinationStatus[];
  chain: string;
  file: string;
  kind: FileKind;
  seq: number;
  txnId: number;
  baseTxnId: number;
  /** Document databases: the last etag carried, and the etag the incremental started after. */
  lastEtag: number | null;
  baseEtag: number | null;
  fullReason?: string;
  records: number;
  docs: number;
  tombstones: number;
  entries: number;
  fallbacks: number;
  plaintextBytes: number;
  bytesWritten: number;
  sha256: string;
  encrypted: boolean;
  compression: string;
  seconds: number;
  pinnedMs: number;
}


/** backupJson: take one JSON backup. Only one backup (of either type) runs per database at a time. */
export async function backupJson(options: JsonBackupOptions): Promise<JsonBackupResult> {
  const now = options.now ?? (() => new Date());
  const started = performance.now();
  if (options.signal?.aborted) throw new AbortedError('backup aborted before it started');
  const envPath = envPathOf(options.db);
  const info = await envInfo(envPath);
  if (info.encrypted) throw new InvalidArgumentError('a JSON backup needs to read the tree pages; this environment is encrypted by lmdb-js (use a snapshot backup)');
  const dests = await openLockedDestinations(options.destination, info.dataPath, 'JSON backup');
  const { lock } = dests;
  const sink = dests.sinks[0];
  const uploaded: number[] = dests.sinks.map(() => 0);
  const uploads = (): DestinationUpload[] => dests.sinks.map((d, i) => ({ destination: d.name, bytes: uploaded[i] }));
  let env: RootDatabase | undefined;
  let ownEnv = false;
  let pinned: PinnedSnapshot | undefined;
  try {
    if (typeof options.db !== 'string') env = options.db;
    else {
      ({ env, own: ownEnv } = openRootFor(info, (info.namedDatabaseCount ?? 0) + 8));
    }
    // Stores first: lmdb-js's openDB resets its shared read transaction, so it must not run while one is pinned.
    const stores = openExportStores(env, info, options.dbOptions);
    const name = safeDatabaseName(options.name ?? defaultName(info));
    const fileStat = await stat(info.dataPath);
    const databaseId = stores.kind === 'docdb' ? String(stores.meta!.get('databaseId') ?? '') : '';
    const identity: DatabaseIdentity = { name, path: realpathSync(info.dataPath), dev: fileStat.dev, ino: fileStat.ino, ...(databaseId ? { documentDbId: databaseId } : {}) };
    if (options.incremental && stores.kind !== 'docdb') {
      throw new IncrementalUnavailableError('incremental JSON backups need a pagevault document database (etags); use incremental snapshots for other lmdb-js environments');
    }
    const startedAt = now();
    const choice: ChainChoice = await onEveryDestination(options.incremental ? await chooseJsonChain(sink, name, identity, info, options.key, Number(stores.meta!.get('lastEtag') ?? 0), options.manual === true) : { folder: '' }, dests.sinks);
    const key = choice.key ?? options.key;
    const last = choice.manifest?.files.at(-1);
    const baseEtag = last ? (last.lastEtag ?? 0) : undefined;
    const kind: FileKind = choice.manifest ? 'incremental-backup' : 'full-backup';
    const folder = choice.manifest ? choice.folder : chainFolderName(startedAt, name, 'backup');
    const seq = choice.manifest ? choice.manifest.files.length : 0;
    const chainId = choice.manifest?.chainId ?? randomUUID();
    const fileName = backupFileName(startedAt, kind, key !== undefined);

    let bytesOut = 0;
    const dbEntries = (n: string): number => info.namedDatabases?.find((d) => d.name === n)?.entries ?? 0;
    const estimatedRecords =
      stores.kind === 'env'
        ? info.mainDb.entries + (info.namedDatabases ?? []).reduce((a, d) => a + d.entries, 0)
        : baseEtag === undefined
          ? dbEntries('@docs') + dbEntries('@tombstones')
          : Math.max(0, Number(stores.meta!.get('lastEtag') ?? 0) - baseEtag);
    const pinStarted = performance.now();
    pinned = await pinSnapshot(env);
    const exporter = createJsonExport(pinned, info, stores, {
      name,
      baseEtag,
      collections: options.collections,
      dbOptions: options.dbOptions,
      native: options.native,
      signal: options.signal,
      now: () => startedAt,
      onProgress: (s) => options.onProgress?.({ phase: 'export', records: s.records, estimatedRecords, docs: s.docs, bytesIn: s.bytes, bytesOut, elapsedMs: performance.now() - started, destinations: uploads() }),
    });
    const baseTxnId = last?.txnId ?? 0;
    const writer = createBackupWriter(
      {
        kind,
        database: name,
        chainId,
        sequence: seq,
        baseTxnId: kind === 'full-backup' ? null : baseTxnId,
        snapshotTxnId: pinned.txnId,
        pageSize: null,
        createdAt: startedAt,
        meta: { tool: 'pagevault', payload: 'pagevault-json', exportKind: stores.kind, baseEtag: baseEtag ?? null },
      },
      { compression: options.compression, level: options.level, key },
    );
    const countOut = new ByteCounter((total) => {
      bytesOut = total;
    });
    let fan: FanOutResult | undefined;
    const put = putFile(dests.sinks, `${folder}/${fileName}`, countOut, { signal: options.signal, upload: options.upload, onDestinationBytes: (i, n) => (uploaded[i] = n) }).then((r) => {
      fan = r;
    });
    await Promise.all([put, pipeline(Readable.from(exporter.chunks(), { objectMode: false }), writer, countOut, { signal: options.signal })]);
    pinned.release();
    const pinnedMs = performance.now() - pinStarted;
    const summary = await writer.done;
    const stats = exporter.stats;

    const entry: ManifestFile = {
      name: fileName,
      kind,
      seq,
      baseTxnId: kind === 'full-backup' ? 0 : baseTxnId,
      txnId: pinned.txnId,
      lastPage: info.lastPage,
      size: summary.bytes,
      sha256: summary.sha256,
      created: startedAt.toISOString(),
      pages: 0,
      plaintextBytes: summary.plaintextBytes,
      lastEtag: stats.lastEtag,
      baseEtag: baseEtag ?? null,
      records: stats.records,
      docs: stats.docs,
    };
    const manifest = withFile(choice.manifest, entry, {
      chainId,
      type: 'backup',
      database: identity,
      pageSize: info.pageSize,
      lmdbFormat: { dataVersion: info.format.dataVersion, pageHeaderSize: info.format.pageHeaderSize },
      key,
      compression: summary.header.compression.name,
      created: startedAt,
      manual: options.manual === true,
    });
    await writeManifests(dests.sinks, fan!, folder, manifest, options.policy);
    if (stores.kind === 'docdb' && stats.lastEtag !== null) {
      // This chain has carried every delete up to lastEtag: the database may purge older tombstones once every
      // other consumer has too (RavenDB's rule). One consumer per destination and database name.
      const meta = stores.meta!;
      const lastEtag = stats.lastEtag;
      const carried = dests.sinks.filter((_, i) => fan!.destinations[i].ok);
      await env.transaction(() => {
        for (const s of carried) putTombstoneConsumer(meta, `${s.name}/${name}`, lastEtag);
      });
    }
    options.onProgress?.({ phase: 'done', records: stats.records, estimatedRecords, docs: stats.docs, bytesIn: stats.bytes, bytesOut, elapsedMs: performance.now() - started, destinations: uploads() });
    return {
      destination: sink.name,
      destinations: fan!.destinations,
      chain: folder,
      file: fileName,
      kind,
      seq,
      txnId: pinned.txnId,
      baseTxnId: entry.baseTxnId,
      lastEtag: stats.lastEtag,
      baseEtag: baseEtag ?? null,
      ...(kind === 'full-backup' && options.incremental ? { fullReason: choice.fullReason ?? 'no usable chain' } : {}),
      records: stats.records,
      docs: stats.docs,
      tombstones: stats.tombstones,
      entries: stats.entries,
      fallbacks: stats.fallbacks,
      plaintextBytes: summary.plaintextBytes,
      bytesWritten: summary.bytes,
      sha256: summary.sha256,
      encrypted: key !== undefined,
      compression: summary.header.compression.name,
      seconds: (performance.now() - started) / 1000,
      pinnedMs,
    };
  } catch (err) {
    if (options.signal?.aborted && !(err instanceof AbortedError)) throw new AbortedError('backup aborted; no file was completed');
    throw err;
  } finally {
    pinned?.release();
    if (ownEnv) await env?.close();
    lock.release();
    await dests.close();
  }
}

/**
 * chooseJsonChain: the newest JSON chain of `name` an incremental can extend, or why not:
 * the same document database (by its id), not rolled back (its last etag is not below
 * the chain's), and the same encryption key.
 */
async function chooseJsonChain(sink: Sink, name: string, identity: DatabaseIdentity, _info: EnvInfo, key: LoadedKey | undefined, lastEtag: number, manual: boolean): Promise<ChainChoice> {
  const found = await newestChain(sink, name, 'backup', manual);
  if ('fullReason' in found) return { folder: '', fullReason: found.fullReason };
  const { manifest } = found;
  const last = manifest.files.at(-1);
  const chainKey = key?.kdf && manifest.kdf ? await key.forKdf(manifest.kdf) : key;
  const why = !last
    ? 'the newest chain has no files'
    : !identity.documentDbId || manifest.database.documentDbId !== identity.documentDbId
      ? 'the chain belongs to another document database (a different database id)'
      : typeof last.lastEtag !== 'number' || lastEtag < last.lastEtag
        ? `the database is at etag ${lastEtag}, before the chain's last backup (etag ${String(last.lastEtag)}): it was replaced or restored`
        : (manifest.keyId ?? null) !== (chainKey?.id ?? null)
          ? 'the encryption key (or its absence) differs from the chain’s'
          : undefined;
  if (why) return { folder: '', fullReason: why };
  return { folder: found.folder, manifest, key: chainKey };
}
