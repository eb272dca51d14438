/**
 * export: a JSON export (records.ts) of one pinned snapshot of an lmdb-js environment, as
 * a stream of Buffers of whole lines.
 *
 * Where the bytes come from:
 * - bulk data (a document database's `@docs`; every database of a generic environment)
 *   comes from the native export cursor (snapshot/export-source.ts): it walks the
 *   snapshot's B-trees off the JS thread and writes the JSON lines straight from the stored
 *   msgpack, so no per-entry JS object is made;
 * - the small databases (index definitions, identities, tombstones, `@meta`) and
 *   incremental documents (found through `@etags`, a few lookups each) are read through
 *   lmdb-js with the pinned read transaction, so they see exactly the same snapshot;
 * - `native: false` reads a document database entirely through lmdb-js (the tests'
 *   oracle; also the path for `collections`, which filters documents by their value).
 *   Generic environments always use the native cursor.
 *
 * Generic environments: each named database (and the root store's own entries) is
 * exported with the options given for it (`dbOptions`, lmdb-js defaults otherwise). Values
 * the native transcoder cannot express as JSON, and every value of a database with
 * lmdb-js compression, shared structures or an encoding other than msgpack / string /
 * binary, are carried as their stored bytes (`$pv` "mp" / "raw"): exact, not portable.
 */
import type { Database, Key, RootDatabase } from 'lmdb';
import { DbNames, MetaKeys, type IndexDefinition, type StoredDocument, type Tombstone } from '../docdb/layout.js';
import { AbortedError, IncrementalUnavailableError, InvalidArgumentError } from '../errors.js';
import { openExportSource, type EnvInfo, type ExportDbSpec, type PinnedSnapshot } from '../snapshot/index.js';
import { JSON_FORMAT, JSON_FORMAT_VERSION, line, type ExportDbOptions, type HeaderRecord } from './records.js';
import { isJsonWritable, OpaqueValue, toJsonText } from './value-json.js';
import { unpack } from 'msgpackr';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** JsonExportOptions: what to export and how. */
export interface JsonExportOptions {
  /** Name recorded in the header (the chain's database name). */
  name: string;
  /** Incremental (document databases only): documents and tombstones with an etag above this. */
  baseEtag?: number;
  /** Document databases: only documents (and tombstones) of these collections. */
  collections?: string[];
  /** Generic environments: options per named database; key '' is the root store. */
  dbOptions?: Record<string, ExportDbOptions>;
  /** Use the native cursor for bulk data (default true). */
  native?: boolean;
  /** Bytes per yielded chunk (default 4 MiB). */
  batchBytes?: number;
  signal?: AbortSignal;
  /** Called after each chunk. */
  onProgress?: (stats: Readonly<JsonExportStats>) => void;
  /** Clock for the header's time. */
  now?: () => Date;
}

/** JsonExportStats: counters, final once the stream ended. */
export interface JsonExportStats {
  kind: 'docdb' | 'env';
  txnId: number;
  /** Document databases: the snapshot's last etag. */
  lastEtag: number | null;
  databaseId: string | null;
  /** Records between header and end. */
  records: number;
  docs: number;
  tombstones: number;
  entries: number;
  /** Values carried as stored bytes because JSON could not express them. */
  fallbacks: number;
  bytes: number;
}

/** ExportStores: lmdb-js stores of the environment, opened before the snapshot is pinned (openDB would reset lmdb-js's read transaction). */
export interface ExportStores {
  kind: 'docdb' | 'env';
  docs?: Database<StoredDocument, string>;
  etags?: Database<string, number>;
  tombstones?: Database<Tombstone, number>;
  identities?: Database<number, string>;
  indexDefs?: Database<IndexDefinition, string>;
  meta?: Database<unknown, string>;
  /** Generic environments: binary handles of the databases with shared structures ('' = root store), to read their structures entry. */
  structures?: Map<string, Database<Buffer, Key>>;
}

/**
 * SHARED_STRUCTURES_KEY: where lmdb-js keeps a store's msgpackr shared structures when the
 * application opened it with `sharedStructuresKey: Symbol.for('structures')` (the value
 * lmdb-js's README uses); `dbOptions.<db>.sharedStructures: true` means this key.
 */
export const SHARED_STRUCTURES_KEY = Symbol.for('structures');

/** isDocumentDatabase: the environment has the document database's named databases. */
export function isDocumentDatabase(info: EnvInfo): boolean {
  const names = new Set((info.namedDatabases ?? []).map((d) => d.name));
  return names.has(DbNames.docs) && names.has(DbNames.meta) && names.has(DbNames.etags);
}

/**
 * openExportStores: the stores a JSON export of `env` reads through lmdb-js. Call before
 * pinning. Generic environments need none (everything goes through the native cursor).
 */
export function openExportStores(env: RootDatabase, info: EnvInfo, dbOptions: Record<string, ExportDbOptions> = {}): ExportStores {
  if (!isDocumentDatabase(info)) {
    const structures = new Map<string, Database<Buffer, Key>>();
    for (const [name, o] of Object.entries(dbOptions)) {
      if (!o.sharedStructures) continue;
      const flags = name === '' ? info.mainDb.flags : (info.namedDatabases ?? []).find((d) => d.name === name)?.flags ?? 0;
      // With compression on, lmdb-js decompresses the structures entry when it is over the threshold.
      const options = { encoding: 'binary' as const, dupSort: (flags & 0x04) !== 0, ...((flags & 0x08) !== 0 ? { keyEncoding: 'uint32' as const } : {}), ...(o.compression ? { compression: true } : {}) };
      structures.set(name, (name === '' ? env.openDB({ ...options, name: null } as never) : env.openDB(name, options)) as unknown as Database<Buffer, Key>);
    }
    return { kind: 'env', structures };
  }
  return {
    kind: 'docdb',
    docs: env.openDB<StoredDocument, string>(DbNames.docs, {}),
    etags: env.openDB<string, number>(DbNames.etags, {}),
    tombstones: env.openDB<Tombstone, number>(DbNames.tombstones, {}),
    identities: env.openDB<number, string>(DbNames.identities, {}),
    indexDefs: env.openDB<IndexDefinition, string>(DbNames.indexes, {}),
    meta: env.openDB<unknown, string>(DbNames.meta, {}),
  };
}

/** JsonExport: one export; iterate `chunks()` once; `stats` is final after it ends. */
export interface JsonExport {
  readonly stats: JsonExportStats;
  chunks(): AsyncGenerator<Buffer>;
}

/**
 * createJsonExport: the export of `pinned` (a snapshot of `info`'s environment) through
 * `stores` (from openExportStores). The caller keeps the snapshot pinned until the chunks
 * ended, and releases it after.
 */
export function createJsonExport(pinned: PinnedSnapshot, info: EnvInfo, stores: ExportStores, options: JsonExportOptions): JsonExport {
  const txn = { transaction: pinned.transaction };
  const stats: JsonExportStats = {
    kind: stores.kind,
    txnId: pinned.txnId,
    lastEtag: null,
    databaseId: null,
    records: 0,
    docs: 0,
    tombstones: 0,
    entries: 0,
    fallbacks: 0,
    bytes: 0,
  };
  if (stores.kind === 'env' && options.baseEtag !== undefined) {
    throw new IncrementalUnavailableError('incremental JSON backups need a pagevault document database (etags); use an incremental snapshot for other lmdb-js environments');
  }
  if (stores.kind === 'env' && options.collections) throw new InvalidArgumentError('collections apply to document databases only');
  const useNative = options.native !== false;
  const batchBytes = options.batchBytes ?? 4 * 1024 * 1024;

  async function* chunks(): AsyncGenerator<Buffer> {
    const pending: string[] = [];
    let pendingBytes = 0;
    const push = (text: string): Buffer | undefined => {
      pending.push(text);
      pendingBytes += text.length;
      return pendingBytes >= batchBytes ? flush() : undefined;
    };
    const flush = (): Buffer | undefined => {
      if (pending.length === 0) return undefined;
      const buf = Buffer.from(pending.join(''));
      pending.length = 0;
      pendingBytes = 0;
      stats.bytes += buf.length;
      if (options.signal?.aborted) throw new AbortedError('export aborted');
      options.onProgress?.(stats);
      return buf;
    };
    const record = (text: string): Buffer | undefined => {
      stats.records++;
      return push(text);
    };

    if (stores.kind === 'docdb') {
      const meta = stores.meta!;
      stats.lastEtag = Number(meta.get(MetaKeys.lastEtag, txn) ?? 0);
      stats.databaseId = String(meta.get(MetaKeys.databaseId, txn) ?? '') || null;
    }
    const header: HeaderRecord = {
      t: 'header',
      format: JSON_FORMAT,
      version: JSON_FORMAT_VERSION,
      kind: stores.kind,
      incremental: options.baseEtag !== undefined,
      database: { name: options.name, id: stats.databaseId },
      txnId: pinned.txnId,
      lastEtag: stats.lastEtag,
      baseEtag: options.baseEtag ?? null,
      created: (options.now?.() ?? new Date()).toISOString(),
    };
    push(line(header as unknown as Record<string, unknown>));

    if (stores.kind === 'docdb') {
      const wanted = options.collections ? new Set(options.collections) : undefined;
      for (const { value } of stores.indexDefs!.getRange(txn)) {
        const out = record(`{"t":"index","v":${toJsonText(value)}}\n`);
        if (out) yield out;
      }
      for (const { key, value } of stores.identities!.getRange(txn)) {
        if (wanted && !wanted.has(key)) continue;
        const out = record(`{"t":"identity","collection":${JSON.stringify(key)},"value":${toJsonText(value)}}\n`);
        if (out) yield out;
      }
      const docLine = (id: string, value: StoredDocument): string => {
        let v: string;
        if (isJsonWritable(value)) v = toJsonText(value);
        else {
          stats.fallbacks++;
          v = toJsonText(new OpaqueValue('mp', Buffer.from((stores.docs!.getBinary as (k: string, o: object) => Buffer | undefined)(id, txn)!)));
        }
        stats.docs++;
        return `{"t":"doc","id":${JSON.stringify(id)},"v":${v}}\n`;
      };
      if (options.baseEtag !== undefined) {
        for (const { value: id } of stores.etags!.getRange({ ...txn, start: options.baseEtag + 1 })) {
          const doc = stores.docs!.get(id, txn);
          if (!doc || (wanted && !wanted.has(doc.collection))) continue;
          const out = record(docLine(id, doc));
          if (out) yield out;
        }
      } else if (useNative && !wanted) {
        yield* flushThen(flush());
        for await (const batch of nativeBatches(pinned, [{ name: DbNames.docs, prefix: '{"t":"doc","id":', keyMode: 'string', valueMode: 'msgpack' }], batchBytes)) {
          stats.records += batch.entries;
          stats.docs += batch.entries;
          stats.fallbacks += batch.fallbacks;
          stats.bytes += batch.data.length;
          if (options.signal?.aborted) throw new AbortedError('export aborted');
          options.onProgress?.(stats);
          yield batch.data;
        }
      } else {
        for (const { key, value } of stores.docs!.getRange(txn)) {
          if (wanted && !wanted.has(value.collection)) continue;
          const out = record(docLine(key, value));
          if (out) yield out;
        }
      }
      const tombstoneRange = options.baseEtag !== undefined ? { ...txn, start: options.baseEtag + 1 } : txn;
      for (const { key, value } of stores.tombstones!.getRange(tombstoneRange)) {
        if (wanted && !wanted.has(value.collection)) continue;
        stats.tombstones++;
        const out = record(`{"t":"tombstone","etag":${key},"v":${toJsonText(value)}}\n`);
        if (out) yield out;
      }
    } else {
      const specs = envSpecs(info, options.dbOptions ?? {}, (name) => sharedStructuresOf(stores, name, txn));
      for (const { dbLine } of specs) {
        const out = record(dbLine);
        if (out) yield out;
      }
      yield* flushThen(flush());
      // One native pass over every database, in listing order; each database's db record came first above.
      for await (const batch of nativeBatches(pinned, specs.map((s) => s.spec), batchBytes)) {
        stats.records += batch.entries;
        stats.entries += batch.entries;
        stats.fallbacks += batch.fallbacks;
        stats.bytes += batch.data.length;
        if (options.signal?.aborted) throw new AbortedError('export aborted');
        options.onProgress?.(stats);
        yield batch.data;
      }
    }
    const last = push(`{"t":"end","records":${stats.records}}\n`);
    if (last) yield last;
    const tail = flush();
    if (tail) yield tail;
  }

  return { stats, chunks };
}

function* flushThen(buf: Buffer | undefined): Generator<Buffer> {
  if (buf) yield buf;
}

/**
 * nativeBatches: the native cursor's batches, one always being filled on the libuv pool
 * while the caller writes, compresses or encrypts the previous one (batch buffers belong
 * to JS once returned, so the next fill never touches them).
 */
async function* nativeBatches(pinned: PinnedSnapshot, specs: ExportDbSpec[], batchBytes: number) {
  const source = openExportSource(pinned, specs);
  let next: Promise<Awaited<ReturnType<typeof source.nextBatch>>> | undefined;
  try {
    next = source.nextBatch(batchBytes);
    for (;;) {
      const batch = await next;
      next = undefined;
      if (!batch) return;
      next = source.nextBatch(batchBytes);
      next.catch(() => undefined); // settled below, or abandoned by close() when the caller stops early
      yield batch;
    }
  } finally {
    source.close();
  }
}

/**
 * sharedStructuresOf: the msgpackr shared structures of database `name` as of the pinned
 * snapshot (its SHARED_STRUCTURES_KEY entry, a plain msgpack array of key arrays), so its
 * values decode exactly as lmdb-js decoded them at that time; null when it has none yet.
 */
function sharedStructuresOf(stores: ExportStores, name: string, txn: { transaction: unknown }): (string[] | null)[] | null {
  const store = stores.structures?.get(name);
  if (!store) throw new InvalidArgumentError(`shared structures of database ${JSON.stringify(name)} were not prepared (openExportStores needs the same dbOptions)`);
  const raw = (store.getBinary as (k: unknown, o: object) => Buffer | undefined)(SHARED_STRUCTURES_KEY, txn);
  if (raw === undefined) return null;
  const structures = unpack(raw) as unknown;
  if (!Array.isArray(structures) || structures.some((s) => s !== null && s !== undefined && (!Array.isArray(s) || s.some((k) => typeof k !== 'string')))) {
    throw new InvalidArgumentError(`database ${JSON.stringify(name)}: the entry at Symbol.for('structures') is not msgpackr shared structures; is sharedStructures right for it?`);
  }
  return structures.map((s) => (Array.isArray(s) ? (s as string[]) : null));
}

let defaultDictionary: Buffer | undefined;
/**
 * lmdbDefaultDictionary: the LZ4 dictionary lmdb-js compresses with unless told otherwise
 * (`dict/dict.txt` of the installed lmdb package, which lmdb-js's open.js reads the same way).
 */
function lmdbDefaultDictionary(): Buffer {
  if (!defaultDictionary) {
    const entry = createRequire(import.meta.url).resolve('lmdb');
    // The package's main is dist/index.cjs: its root is one folder up.
    defaultDictionary = readFileSync(join(dirname(dirname(entry)), 'dict', 'dict.txt'));
  }
  return defaultDictionary;
}

/** envSpecs: the native spec and the db record of every database of a generic environment. */
function envSpecs(info: EnvInfo, dbOptions: Record<string, ExportDbOptions>, structuresOf: (name: string) => (string[] | null)[] | null): Array<{ spec: ExportDbSpec; dbLine: string }> {
  const known = new Set(['', ...(info.namedDatabases ?? []).map((d) => d.name)]);
  const encodings = ['msgpack', 'json', 'string', 'binary', 'ordered-binary', 'cbor'];
  const keyEncodings = ['ordered-binary', 'uint32', 'binary'];
  for (const [name, o] of Object.entries(dbOptions)) {
    if (!known.has(name)) throw new InvalidArgumentError(`dbOptions names database ${JSON.stringify(name)}, which the environment does not have`);
    if (o.encoding !== undefined && !encodings.includes(o.encoding)) throw new InvalidArgumentError(`dbOptions.${name}.encoding: expected one of ${encodings.join(', ')} but received ${JSON.stringify(o.encoding)}`);
    if (o.keyEncoding !== undefined && !keyEncodings.includes(o.keyEncoding)) throw new InvalidArgumentError(`dbOptions.${name}.keyEncoding: expected one of ${keyEncodings.join(', ')} but received ${JSON.stringify(o.keyEncoding)}`);
  }
  const list: Array<{ name: string | null; flags: number }> = [
    { name: null, flags: info.mainDb.flags },
    ...(info.namedDatabases ?? []).map((d) => ({ name: d.name, flags: d.flags })),
  ];
  return list.map(({ name, flags }) => {
    const given = dbOptions[name ?? ''] ?? {};
    const options: ExportDbOptions = {
      encoding: given.encoding ?? 'msgpack',
      keyEncoding: given.keyEncoding ?? ((flags & 0x08) !== 0 ? 'uint32' : 'ordered-binary'),
      dupSort: (flags & 0x04) !== 0,
      useVersions: given.useVersions ?? (flags & 0x100) !== 0,
      ...(given.compression ? { compression: true } : {}),
      ...(given.sharedStructures ? { sharedStructures: true } : {}),
    };
    // Compressed values are decompressed natively (lmdb-js's default dictionary); shared-structure values decode
    // with the snapshot's structures.
    const structures = options.sharedStructures && options.encoding === 'msgpack' ? structuresOf(name ?? '') : null;
    const valueMode: ExportDbSpec['valueMode'] =
      options.encoding === 'msgpack' ? 'msgpack' : options.encoding === 'string' ? 'string' : options.encoding === 'binary' ? 'binary' : 'raw';
    const keyMode: ExportDbSpec['keyMode'] = options.keyEncoding === 'uint32' ? 'uint32' : options.keyEncoding === 'binary' ? 'raw' : 'string';
    return {
      spec: {
        name,
        prefix: `{"t":"entry","db":${JSON.stringify(name)},"k":`,
        keyMode,
        valueMode,
        versions: options.useVersions === true,
        ...(structures ? { structures } : {}),
        ...(options.compression ? { compression: { dictionary: lmdbDefaultDictionary() } } : {}),
      },
      dbLine: line({ t: 'db', name, flags, options }),
    };
  });
}
