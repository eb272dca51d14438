/**
 * apply: writes the records of JSON backups (records.ts) into a new lmdb-js environment:
 * a full, then its incrementals in order, then `finish()` (index definitions, index data,
 * last etag). Used by `pagevault import` and by restoring a JSON chain; both write into a
 * temporary folder and rename it into place only when everything succeeded.
 *
 * Document databases: documents are written in large batched write transactions (several
 * thousand records each, up to three commits in flight while the next batch is parsed),
 * encoded by lmdb-js itself so the stored bytes are what the application would have
 * written. Incrementals upsert documents and apply tombstones (a tombstone removes the
 * document only if the stored version is older than the delete, so a document deleted and
 * written again in the same period survives). Index data is not maintained while loading:
 * `finish()` rebuilds every index from its definition in one pass over the documents
 * (`skipIndexes` stores the definitions and leaves the data to `rebuildIndex`).
 *
 * Generic environments: each `db` record recreates a named database with its flags
 * (dupSort, uint32 keys, useVersions) and declared encoding; entries are put with lmdb-js's
 * encoder, and values carried as stored bytes are put as they are (`asBinary`).
 */
import { randomUUID } from 'node:crypto';
import { asBinary, open, type Database, type Key, type RootDatabase } from 'lmdb';
import { Unpackr } from 'msgpackr';
import { indexKeysFor, validateIndexDefinition } from '../docdb/index-keys.js';
import { openDatabase, type DocumentDatabase } from '../docdb/database.js';
import { MetaKeys, type IndexDefinition, type StoredDocument, type Tombstone } from '../docdb/layout.js';
import { AbortedError, InvalidBackupRecordError, UniqueViolationError } from '../errors.js';
import type { DbRecord, EntryRecord, HeaderRecord, JsonRecord, ParsedLine } from './records.js';
import { fromJsonValue, OpaqueValue } from './value-json.js';

/** ApplyProgress: counters for a progress bar, per phase. */
export interface ApplyProgress {
  phase: 'records' | 'indexes';
  records: number;
  docs: number;
  tombstones: number;
  entries: number;
  /** Index phase: documents scanned so far, of `docsTotal`. */
  indexedDocs: number;
  docsTotal: number;
  indexEntries: number;
  elapsedMs: number;
}

/** ApplyOptions: see `pagevault import --help` / `restore --help`. */
export interface ApplyOptions {
  /** Store index definitions but do not build their data (run rebuildIndex later). */
  skipIndexes?: boolean;
  onProgress?: (p: Readonly<ApplyProgress>) => void;
  signal?: AbortSignal;
  /** Records per write transaction (default 4000). */
  batchRecords?: number;
}

/** ApplyResult: what was written. */
export interface ApplyResult {
  kind: 'docdb' | 'env';
  records: number;
  docs: number;
  tombstones: number;
  entries: number;
  indexes: number;
  indexEntries: number;
  lastEtag: number | null;
  txnId: number;
  /** Seconds spent in the record phase and in the index phase. */
  recordSeconds: number;
  indexSeconds: number;
}

const decodeStored = new Unpackr({ useRecords: true, mapsAsObjects: true });

/**
 * JsonApplier: one target environment (a directory that holds nothing yet). `applyFile`
 * once per file in chain order, then `finish()`, then `close()` (also after a failure).
 */
export class JsonApplier {
  readonly #path: string;
  readonly #options: ApplyOptions;
  readonly #started = performance.now();
  readonly #progress: ApplyProgress = { phase: 'records', records: 0, docs: 0, tombstones: 0, entries: 0, indexedDocs: 0, docsTotal: 0, indexEntries: 0, elapsedMs: 0 };
  #kind: 'docdb' | 'env' | undefined;
  #db: DocumentDatabase | undefined;
  #docsRaw: Database<Buffer, string> | undefined;
  #env: RootDatabase | undefined;
  readonly #stores = new Map<string | null, { store: Database<unknown, Key>; record: DbRecord; versions: boolean }>();
  #indexes = new Map<string, IndexDefinition>();
  #files = 0;
  #lastHeader: HeaderRecord | undefined;
  #recordMs = 0;

  constructor(path: string, options: ApplyOptions = {}) {
    this.#path = path;
    this.#options = options;
  }

  /**
   * applyFile: the records of one file (a full first, then incrementals). Checks that the
   * file fits: the first is a full, later ones are incrementals of the same kind and
   * database whose base etag is the previous file's last etag.
   */
  async applyFile(records: AsyncIterable<ParsedLine>): Promise<HeaderRecord> {
    const t0 = performance.now();
    const batchRecords = this.#options.batchRecords ?? 4000;
    let header: HeaderRecord | undefined;
    let batch: ParsedLine[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const commit = (lines: ParsedLine[]): void => {
      const p = this.#env!
        .transaction(() => {
          for (const l of lines) this.#applyRecord(l);
        })
        .then(
          () => {
            inFlight.delete(p);
            this.#report('records');
          },
          (err: unknown) => {
            inFlight.delete(p);
            failure ??= err;
          },
        );
      inFlight.add(p);
    };
    for await (const l of records) {
      if (failure) break;
      if (!header) {
        header = l.record as HeaderRecord;
        this.#begin(header, l.n);
        continue;
      }
      if (l.record.t === 'end') continue;
      batch.push(l);
      if (batch.length >= batchRecords) {
        if (this.#options.signal?.aborted) throw new AbortedError('import aborted');
        commit(batch);
        batch = [];
        if (inFlight.size >= 3) await Promise.race(inFlight);
      }
    }
    if (batch.length > 0 && !failure) commit(batch);
    await Promise.all(inFlight);
    if (failure) throw failure;
    if (!header) throw new InvalidBackupRecordError('the stream is empty: no header record', 1);
    this.#lastHeader = header;
    this.#files++;
    this.#recordMs += performance.now() - t0;
    return header;
  }

  #begin(header: HeaderRecord, n: number): void {
    const prev = this.#lastHeader;
    if (this.#files === 0) {
      if (header.incremental) throw new InvalidBackupRecordError('the first file to apply must be a full backup, not an incremental', n);
      this.#kind = header.kind;
      if (header.kind === 'docdb') {
        this.#db = openDatabase(this.#path, { noSync: true, maxDbs: 512 });
        this.#env = this.#db.env;
        this.#docsRaw = this.#env.openDB<Buffer, string>('@docs', { encoding: 'binary' });
      } else {
        // A placeholder root; `db` records open the named databases. Opened like openDatabase does (a folder, never noSubdir).
        this.#env = openRoot(this.#path);
      }
      return;
    }
    if (!header.incremental) throw new InvalidBackupRecordError('only the first file of a chain may be a full backup', n);
    if (header.kind !== this.#kind) throw new InvalidBackupRecordError(`a ${header.kind} file cannot follow a ${String(this.#kind)} file`, n);
    if (prev && header.baseEtag !== prev.lastEtag) {
      throw new InvalidBackupRecordError(`this incremental starts after etag ${String(header.baseEtag)}, but the files before it end at etag ${String(prev.lastEtag)}`, n);
    }
    // Each file carries the complete set of index definitions.
    this.#indexes = new Map();
  }

  #applyRecord(l: ParsedLine): void {
    const r = l.record as JsonRecord;
    try {
      switch (r.t) {
        case 'doc':
          return this.#applyDoc(r.id, fromJsonValue(r.v) as StoredDocument | OpaqueValue);
        case 'tombstone':
          return this.#applyTombstone(r.etag, fromJsonValue(r.v) as Tombstone);
        case 'identity':
          this.#db!.identities.putSync(r.collection, r.value);
          return;
        case 'index': {
          const def = validateIndexDefinition(fromJsonValue(r.v) as IndexDefinition);
          this.#indexes.set(def.name, def);
          return;
        }
        case 'db':
          return this.#openDb(r);
        case 'entry':
          return this.#applyEntry(r);
        default:
          throw new InvalidBackupRecordError(`unexpected record type ${JSON.stringify((r as { t: unknown }).t)}`);
      }
    } catch (err) {
      if (err instanceof InvalidBackupRecordError && err.record === undefined) throw new InvalidBackupRecordError(err.message, l.n);
      if (err instanceof TypeError || err instanceof RangeError) throw new InvalidBackupRecordError(`malformed ${r.t} record (${err.message})`, l.n);
      throw err;
    }
  }

  #applyDoc(id: string, value: StoredDocument | OpaqueValue): void {
    if (typeof id !== 'string' || id.length === 0) throw new InvalidBackupRecordError('a doc record needs a non-empty string id');
    const db = this.#db!;
    let etag: number;
    if (value instanceof OpaqueValue) {
      const decoded = decodeStored.unpack(value.bytes) as StoredDocument;
      etag = decoded?.etag;
    } else {
      etag = value?.etag;
    }
    if (typeof etag !== 'number' || !Number.isSafeInteger(etag) || etag < 1) throw new InvalidBackupRecordError(`document ${id} has no valid etag`);
    if (this.#files > 0) {
      const old = db.docs.get(id);
      if (old) db.etags.removeSync(old.etag);
    }
    if (value instanceof OpaqueValue) this.#docsRaw!.putSync(id, value.bytes);
    else db.docs.putSync(id, value);
    db.etags.putSync(etag, id);
    this.#progress.docs++;
    this.#progress.records++;
  }

  #applyTombstone(etag: number, t: Tombstone): void {
    if (typeof etag !== 'number' || !Number.isSafeInteger(etag) || typeof t?.id !== 'string') throw new InvalidBackupRecordError('a tombstone record needs an etag and an id');
    const db = this.#db!;
    const old = db.docs.get(t.id);
    if (old && old.etag < etag) {
      db.etags.removeSync(old.etag);
      db.docs.removeSync(t.id);
    }
    db.tombstones.putSync(etag, t);
    this.#progress.tombstones++;
    this.#progress.records++;
  }

  #openDb(r: DbRecord): void {
    const flags = Number(r.flags) | 0;
    const o = r.options ?? {};
    const env = this.#env!;
    const options = {
      dupSort: (flags & 0x04) !== 0,
      useVersions: (flags & 0x100) !== 0 || o.useVersions === true,
      keyEncoding: (flags & 0x08) !== 0 ? ('uint32' as const) : undefined,
      // Values the export carried as bytes are put with asBinary; the encoding handles the rest.
      encoding: o.encoding === 'string' || o.encoding === 'binary' ? o.encoding : ('msgpack' as const),
    };
    const store = (r.name === null ? env.openDB({ ...options, name: null } as never) : env.openDB(r.name, options)) as unknown as Database<unknown, Key>;
    this.#stores.set(r.name, { store, record: r, versions: options.useVersions });
    this.#progress.records++;
  }

  #applyEntry(r: EntryRecord): void {
    const target = this.#stores.get(r.db);
    if (!target) throw new InvalidBackupRecordError(`entry of database ${JSON.stringify(r.db)} before its db record`);
    let key = fromJsonValue(r.k) as unknown;
    if (key instanceof OpaqueValue) key = key.bytes;
    let value = fromJsonValue(r.v) as unknown;
    if (value instanceof OpaqueValue) value = asBinary(value.bytes);
    else if (target.record.options.encoding === 'binary' && !(value instanceof Uint8Array)) throw new InvalidBackupRecordError('a binary database entry needs a bin value');
    if (target.versions) target.store.putSync(key as Key, value, typeof r.ver === 'number' ? r.ver : 0);
    else target.store.putSync(key as Key, value);
    this.#progress.entries++;
    this.#progress.records++;
  }

  /**
   * finish: after the last file: store the index definitions and (unless skipIndexes)
   * build their data in one pass over the documents, batched in transactions; set the
   * last etag; flush. Resolves the summary.
   */
  async finish(): Promise<ApplyResult> {
    const header = this.#lastHeader;
    if (!header) throw new InvalidBackupRecordError('nothing was applied');
    const t0 = performance.now();
    if (this.#kind === 'docdb') {
      const db = this.#db!;
      const defs = [...this.#indexes.values()];
      await db.env.transaction(() => {
        db.meta.putSync(MetaKeys.lastEtag, header.lastEtag ?? 0);
        // A restored database is a new database: incrementals of the source's chains must not continue on it.
        db.meta.putSync(MetaKeys.databaseId, randomUUID());
        db.meta.putSync('restoredFrom', { databaseId: header.database.id, name: header.database.name, lastEtag: header.lastEtag, txnId: header.txnId });
        for (const def of defs) db.indexDefs.putSync(def.name, def);
        db.meta.putSync(MetaKeys.indexesVersion, Number(db.meta.get(MetaKeys.indexesVersion) ?? 0) + 1);
        if (this.#options.skipIndexes && defs.length > 0) db.meta.putSync('indexesPending', defs.map((d) => d.name));
      });
      if (!this.#options.skipIndexes && defs.length > 0) await this.#buildIndexes(db, defs);
    }
    await this.#env!.flushed;
    return {
      kind: this.#kind!,
      records: this.#progress.records,
      docs: this.#progress.docs,
      tombstones: this.#progress.tombstones,
      entries: this.#progress.entries,
      indexes: this.#indexes.size,
      indexEntries: this.#progress.indexEntries,
      lastEtag: header.lastEtag,
      txnId: header.txnId,
      recordSeconds: this.#recordMs / 1000,
      indexSeconds: (performance.now() - t0) / 1000,
    };
  }

  async #buildIndexes(db: DocumentDatabase, defs: IndexDefinition[]): Promise<void> {
    const byCollection = new Map<string, IndexDefinition[]>();
    for (const def of defs) byCollection.set(def.collection, [...(byCollection.get(def.collection) ?? []), def]);
    const stores = new Map(defs.map((d) => [d.name, db.indexDb(d)]));
    this.#progress.phase = 'indexes';
    this.#progress.docsTotal = (db.docs.getStats() as { entryCount: number }).entryCount;
    let start: string | undefined;
    const batch = 5000;
    for (;;) {
      if (this.#options.signal?.aborted) throw new AbortedError('index rebuild aborted');
      const last = await db.env.transaction(() => {
        let n = 0;
        let lastKey: string | undefined;
        const range = start === undefined ? { limit: batch } : { start, limit: batch + 1 };
        for (const { key: id, value: doc } of db.docs.getRange(range)) {
          if (id === start) continue;
          lastKey = id;
          n++;
          for (const def of byCollection.get(doc.collection) ?? []) {
            const store = stores.get(def.name)!;
            for (const key of indexKeysFor(def, doc.body)) {
              if (def.unique) {
                const owner = store.get(key as Key);
                if (owner !== undefined && owner !== id) throw new UniqueViolationError(`unique index ${def.name}: key ${JSON.stringify(key)} is shared by ${owner} and ${id}`);
              }
              store.putSync(key as Key, id);
              this.#progress.indexEntries++;
            }
          }
        }
        this.#progress.indexedDocs += n;
        return lastKey;
      });
      this.#report('indexes');
      if (last === undefined) break;
      start = last;
    }
  }

  #report(phase: ApplyProgress['phase']): void {
    this.#progress.phase = phase;
    this.#progress.elapsedMs = performance.now() - this.#started;
    this.#options.onProgress?.(this.#progress);
  }

  /** close: closes the environment (idempotent). */
  async close(): Promise<void> {
    const env = this.#env;
    this.#env = undefined;
    if (this.#db) await this.#db.close();
    else if (env) await env.close();
    this.#db = undefined;
  }
}

function openRoot(path: string): RootDatabase {
  return open({ path, noSubdir: false, maxDbs: 512, noSync: true });
}
