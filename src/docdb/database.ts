/**
 * database: the embedded document database that demos, tests and benchmarks back up, in
 * the spirit of RavenDB: JSON documents in collections, addressed by id, with etags,
 * tombstones, identities and indexes, all in one lmdb-js environment (see layout.ts).
 *
 * Threading: all methods run on the calling thread. Writes go through lmdb-js write
 * transactions (`transaction`, which lmdb-js batches with other async writes), so any
 * number of DocumentDatabase handles, in this process or others, can write concurrently;
 * etags and identities are allocated inside the transaction and stay unique.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open, type Database, type Key, type RootDatabase } from 'lmdb';
import { toBufferKey } from 'ordered-binary';
import {
  DocumentNotFoundError,
  IndexExistsError,
  IndexNotFoundError,
  InvalidArgumentError,
  NotADocumentDbError,
  UniqueViolationError,
} from '../errors.js';
import { indexKeysFor, validateIndexDefinition, type IndexKey } from './index-keys.js';
import {
  DbNames,
  MetaKeys,
  SCHEMA_VERSION,
  indexDbName,
  type IndexDefinition,
  type StoredDocument,
  type Tombstone,
} from './layout.js';

/** OpenDatabaseOptions: how to open (or create) a document database. */
export interface OpenDatabaseOptions {
  /** Create the environment when the path does not hold one (default true). */
  create?: boolean;
  /** Open read-only: no writes, no creation (default false). */
  readOnly?: boolean;
  /** Maximum named databases (6 fixed ones plus one per index); default 256. */
  maxDbs?: number;
  /**
   * Skip fsync on commit (lmdb-js `noSync`). Only for generated data that can be made
   * again: a crash can lose or corrupt recent commits.
   */
  noSync?: boolean;
  /** lmdb-js `pageSize` for a new environment (default: the OS page size). */
  pageSize?: number;
}

/** PutResult: what a write returns. */
export interface PutResult {
  id: string;
  etag: number;
}

/** Document: a document as read back. */
export interface Document extends StoredDocument {
  id: string;
}

/** RangeQuery: an equality or range condition on an index key. */
export type IndexQuery =
  | { equals: IndexKey }
  | { gt?: IndexKey; gte?: IndexKey; lt?: IndexKey; lte?: IndexKey };

/** DocumentDatabaseStats: counts and sizes for `pagevault info` and `npm start`. */
export interface DocumentDatabaseStats {
  databaseId: string;
  documents: number;
  tombstones: number;
  lastEtag: number;
  identities: Record<string, number>;
  indexes: Array<IndexDefinition & { entries: number }>;
  /** Bytes of data.mdb on disk. */
  fileBytes: number;
}

/** idPrefix: the id prefix documents of `collection` get from identities (`Users` → `users/`). */
export function idPrefix(collection: string): string {
  return `${collection.toLowerCase()}/`;
}

/** identityId: the id for identity number `n` of `collection`, RavenDB style (`users/12-A`). */
export function identityId(collection: string, n: number): string {
  return `${idPrefix(collection)}${n}-A`;
}

/**
 * DocumentDatabase: a handle on one environment. Create with `openDatabase`; close with
 * `close()` (idempotent). The underlying lmdb-js root is exposed as `env` for callers
 * that need raw access (the backup engine does).
 */
export class DocumentDatabase {
  readonly path: string;
  readonly env: RootDatabase;
  readonly docs: Database<StoredDocument, string>;
  readonly etags: Database<string, number>;
  readonly tombstones: Database<Tombstone, number>;
  readonly identities: Database<number, string>;
  readonly indexDefs: Database<IndexDefinition, string>;
  readonly meta: Database<unknown, string>;
  readonly #readOnly: boolean;
  #indexCache: { version: number; byCollection: Map<string, IndexDefinition[]> } | undefined;
  readonly #indexDbs = new Map<string, Database<string, Key>>();
  #closed = false;

  /** @internal use openDatabase */
  constructor(path: string, env: RootDatabase, readOnly: boolean) {
    this.path = path;
    this.env = env;
    this.#readOnly = readOnly;
    this.docs = env.openDB<StoredDocument, string>(DbNames.docs, {});
    this.etags = env.openDB<string, number>(DbNames.etags, {});
    this.tombstones = env.openDB<Tombstone, number>(DbNames.tombstones, {});
    this.identities = env.openDB<number, string>(DbNames.identities, {});
    this.indexDefs = env.openDB<IndexDefinition, string>(DbNames.indexes, {});
    this.meta = env.openDB<unknown, string>(DbNames.meta, {});
  }

  /** databaseId: the random id fixed at creation. */
  get databaseId(): string {
    return String(this.meta.get(MetaKeys.databaseId));
  }

  /** lastEtag: the highest etag handed out so far (0 when empty). */
  get lastEtag(): number {
    return Number(this.meta.get(MetaKeys.lastEtag) ?? 0);
  }

  /** indexDb: the lmdb-js handle of an index's data (opened lazily, kept open). */
  indexDb(def: IndexDefinition): Database<string, Key> {
    let db = this.#indexDbs.get(def.name);
    if (!db) {
      // IndexKey allows null, which ordered-binary encodes (as byte 0) though lmdb-js's
      // Key type leaves it out; hence the casts to Key below.
      db = this.env.openDB<string, Key>(indexDbName(def.name), {
        dupSort: !def.unique,
        encoding: 'ordered-binary',
      });
      this.#indexDbs.set(def.name, db);
    }
    return db;
  }

  /** indexesFor: the definitions that apply to `collection`, reloaded when another handle changed them. */
  indexesFor(collection: string): IndexDefinition[] {
    const version = Number(this.meta.get(MetaKeys.indexesVersion) ?? 0);
    if (!this.#indexCache || this.#indexCache.version !== version) {
      const byCollection = new Map<string, IndexDefinition[]>();
      for (const { value } of this.indexDefs.getRange({})) {
        const list = byCollection.get(value.collection) ?? [];
        list.push(value);
        byCollection.set(value.collection, list);
      }
      this.#indexCache = { version, byCollection };
    }
    return this.#indexCache.byCollection.get(collection) ?? [];
  }

  /** listIndexes: every index definition, by name. */
  listIndexes(): IndexDefinition[] {
    return [...this.indexDefs.getRange({})].map((e) => e.value);
  }

  /**
   * put: store `body` as document `id` of `collection` (insert or replace), with a new
   * etag, in one transaction that also maintains indexes. `id` null or ending in `/`
   * takes the next identity of the collection. Fails with UniqueViolationError (nothing
   * written) if a unique index already maps one of the new keys to another document.
   */
  async put(collection: string, id: string | null, body: Record<string, unknown>): Promise<PutResult> {
    this.#checkWritable();
    checkCollection(collection);
    if (id !== null && (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id) > 1000)) {
      throw new InvalidArgumentError(`Expected null or a 1-1000 byte string for id but received ${JSON.stringify(id)}`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidArgumentError('Expected a plain object for document body');
    }
    return this.env.transaction(() => this.putInTransaction(collection, id, body, Date.now()));
  }

  /**
   * putInTransaction: the body of `put`, for callers already inside an lmdb-js write
   * transaction on this environment (batching many writes into one commit).
   */
  putInTransaction(collection: string, id: string | null, body: Record<string, unknown>, now: number): PutResult {
    if (id === null || id.endsWith('/')) id = this.#nextIdentityInTxn(collection, id);
    const old = this.docs.get(id);
    const defs = this.indexesFor(collection);
    if (old) {
      this.etags.removeSync(old.etag);
      this.#unindex(old.collection === collection ? defs : this.indexesFor(old.collection), id, old.body);
    }
    for (const def of defs) {
      if (!def.unique) continue;
      const db = this.indexDb(def);
      for (const key of indexKeysFor(def, body)) {
        const owner = db.get(key as Key);
        if (owner !== undefined && owner !== id) {
          throw new UniqueViolationError(`unique index ${def.name}: key ${JSON.stringify(key)} already belongs to ${owner}`);
        }
      }
    }
    const etag = this.lastEtag + 1;
    this.meta.putSync(MetaKeys.lastEtag, etag);
    this.docs.putSync(id, { etag, collection, modified: now, body });
    this.etags.putSync(etag, id);
    for (const def of defs) {
      const db = this.indexDb(def);
      for (const key of indexKeysFor(def, body)) db.putSync(key as Key, id);
    }
    return { id, etag };
  }

  /**
   * delete: remove document `id`, leaving a tombstone at a new etag. Resolves false (and
   * writes nothing) when there is no such document.
   */
  async delete(id: string): Promise<boolean> {
    this.#checkWritable();
    return this.env.transaction(() => this.deleteInTransaction(id, Date.now()));
  }

  /** deleteInTransaction: the body of `delete`, for callers inside a write transaction. */
  deleteInTransaction(id: string, now: number): boolean {
    const old = this.docs.get(id);
    if (!old) return false;
    this.etags.removeSync(old.etag);
    this.#unindex(this.indexesFor(old.collection), id, old.body);
    this.docs.removeSync(id);
    const etag = this.lastEtag + 1;
    this.meta.putSync(MetaKeys.lastEtag, etag);
    this.tombstones.putSync(etag, { id, collection: old.collection, deletedEtag: old.etag, deleted: now });
    return true;
  }

  /** get: the current version of a document, or undefined. */
  get(id: string): Document | undefined {
    const doc = this.docs.get(id);
    return doc ? { id, ...doc } : undefined;
  }

  /** getOrThrow: like get, but a missing document is a DocumentNotFoundError. */
  getOrThrow(id: string): Document {
    const doc = this.get(id);
    if (!doc) throw new DocumentNotFoundError(`no document ${JSON.stringify(id)}`);
    return doc;
  }

  /** nextIdentity: hand out the next identity number of `collection` (its own transaction). */
  async nextIdentity(collection: string): Promise<number> {
    this.#checkWritable();
    checkCollection(collection);
    return this.env.transaction(() => {
      const n = (this.identities.get(collection) ?? 0) + 1;
      this.identities.putSync(collection, n);
      return n;
    });
  }

  #nextIdentityInTxn(collection: string, prefix: string | null): string {
    const n = (this.identities.get(collection) ?? 0) + 1;
    this.identities.putSync(collection, n);
    return prefix ? `${prefix}${n}-A` : identityId(collection, n);
  }

  #unindex(defs: IndexDefinition[], id: string, body: unknown): void {
    for (const def of defs) {
      const db = this.indexDb(def);
      for (const key of indexKeysFor(def, body)) {
        if (def.unique) {
          if (db.get(key as Key) === id) db.removeSync(key as Key);
        } else {
          db.removeSync(key as Key, id);
        }
      }
    }
  }

  /**
   * defineIndex: store an index definition and build its data from the existing documents,
   * in one transaction. Defining the same definition again is a no-op; a different one
   * under a taken name is an IndexExistsError. A unique index over duplicate data fails
   * with UniqueViolationError and leaves nothing behind.
   */
  async defineIndex(definition: IndexDefinition): Promise<void> {
    this.#checkWritable();
    const def = validateIndexDefinition(definition);
    await this.env.transaction(() => {
      const existing = this.indexDefs.get(def.name);
      if (existing) {
        if (JSON.stringify(validateIndexDefinition(existing)) === JSON.stringify(def)) return;
        throw new IndexExistsError(`index ${def.name} already exists with another definition`);
      }
      this.indexDefs.putSync(def.name, def);
      this.#bumpIndexesVersion();
      this.#buildIndexInTxn(def);
    });
  }

  /** dropIndex: remove an index definition and its data. Unknown names are an IndexNotFoundError. */
  async dropIndex(name: string): Promise<void> {
    this.#checkWritable();
    await this.env.transaction(() => {
      const def = this.indexDefs.get(name);
      if (!def) throw new IndexNotFoundError(`no index ${JSON.stringify(name)}`);
      this.indexDb(def).clearSync();
      this.indexDefs.removeSync(name);
      this.#bumpIndexesVersion();
    });
  }

  /**
   * rebuildIndex: throw away index `name`'s data and build it again from the documents,
   * in one transaction (readers see the old data until it commits).
   */
  async rebuildIndex(name: string): Promise<{ entries: number }> {
    this.#checkWritable();
    return this.env.transaction(() => {
      const def = this.indexDefs.get(name);
      if (!def) throw new IndexNotFoundError(`no index ${JSON.stringify(name)}`);
      this.indexDb(def).clearSync();
      return { entries: this.#buildIndexInTxn(def) };
    });
  }

  #buildIndexInTxn(def: IndexDefinition): number {
    const db = this.indexDb(def);
    let entries = 0;
    for (const { key: id, value: doc } of this.docs.getRange({})) {
      if (doc.collection !== def.collection) continue;
      for (const key of indexKeysFor(def, doc.body)) {
        if (def.unique) {
          const owner = db.get(key as Key);
          if (owner !== undefined && owner !== id) {
            throw new UniqueViolationError(`unique index ${def.name}: key ${JSON.stringify(key)} is shared by ${owner} and ${id}`);
          }
        }
        db.putSync(key as Key, id);
        entries++;
      }
    }
    return entries;
  }

  #bumpIndexesVersion(): void {
    this.meta.putSync(MetaKeys.indexesVersion, Number(this.meta.get(MetaKeys.indexesVersion) ?? 0) + 1);
  }

  /**
   * query: documents whose key in index `name` matches `q`, in key order (then id order),
   * at most `limit` (default 1000).
   */
  query(name: string, q: IndexQuery, options: { limit?: number } = {}): Document[] {
    const def = this.indexDefs.get(name);
    if (!def) throw new IndexNotFoundError(`no index ${JSON.stringify(name)}`);
    const limit = options.limit ?? 1000;
    const db = this.indexDb(def);
    const ids: string[] = [];
    if ('equals' in q) {
      if (def.unique) {
        const id = db.get(q.equals as Key);
        if (id !== undefined) ids.push(id);
      } else {
        for (const id of db.getValues(q.equals as Key)) {
          ids.push(id);
          if (ids.length >= limit) break;
        }
      }
    } else {
      const start = q.gte ?? q.gt;
      const end = q.lte ?? q.lt;
      const startKey = encodeKey(start);
      const endKey = encodeKey(end);
      for (const { key, value } of db.getRange({ start: start as Key | undefined })) {
        const k = encodeKey(key as IndexKey);
        if (q.gt !== undefined && startKey && Buffer.compare(k!, startKey) === 0) continue;
        if (endKey) {
          const c = Buffer.compare(k!, endKey);
          if (c > 0 || (c === 0 && q.lt !== undefined)) break;
        }
        ids.push(value);
        if (ids.length >= limit) break;
      }
    }
    const out: Document[] = [];
    for (const id of ids) {
      const d = this.get(id);
      if (d) out.push(d);
    }
    return out;
  }

  /** documentsSince: documents with an etag above `etag`, in etag order (a snapshot of one read txn). */
  *documentsSince(etag: number): Generator<Document> {
    for (const { value: id } of this.etags.getRange({ start: etag + 1 })) {
      const d = this.get(id);
      if (d) yield d;
    }
  }

  /** tombstonesSince: tombstones with an etag above `etag`, in etag order. */
  *tombstonesSince(etag: number): Generator<Tombstone & { etag: number }> {
    for (const { key, value } of this.tombstones.getRange({ start: etag + 1 })) yield { etag: key, ...value };
  }

  /**
   * tombstoneConsumers: who still needs tombstones (RavenDB's rule: a delete must reach every
   * incremental JSON backup chain before its tombstone may go): consumer name → the last
   * etag that consumer has carried. JSON backups register themselves here (one consumer per
   * destination and database name).
   */
  tombstoneConsumers(): Record<string, number> {
    const v = this.meta.get(MetaKeys.tombstoneConsumers);
    return typeof v === 'object' && v !== null ? { ...(v as Record<string, number>) } : {};
  }

  /**
   * tombstoneHorizon: the highest etag below which every consumer has carried all
   * tombstones: the smallest consumer etag, or the last etag when nobody consumes them.
   */
  tombstoneHorizon(): number {
    const etags = Object.values(this.tombstoneConsumers());
    return etags.length === 0 ? this.lastEtag : Math.min(...etags);
  }

  /** setTombstoneConsumer: record that `name` has carried every change up to `etag` (never moves it back). */
  async setTombstoneConsumer(name: string, etag: number): Promise<void> {
    this.#checkWritable();
    await this.env.transaction(() => putTombstoneConsumer(this.meta, name, etag));
  }

  /** removeTombstoneConsumer: a chain that is gone no longer holds tombstones back. */
  async removeTombstoneConsumer(name: string): Promise<void> {
    this.#checkWritable();
    await this.env.transaction(() => {
      const all = this.tombstoneConsumers();
      delete all[name];
      this.meta.putSync(MetaKeys.tombstoneConsumers, all);
      this.meta.putSync(MetaKeys.tombstoneHorizon, Object.values(all).length ? Math.min(...Object.values(all)) : 0);
    });
  }

  /**
   * purgeTombstones: delete the tombstones every consumer has carried (etag at or below
   * tombstoneHorizon()), in batches; resolves how many went.
   */
  async purgeTombstones(): Promise<number> {
    this.#checkWritable();
    const horizon = this.tombstoneHorizon();
    let purged = 0;
    for (;;) {
      const n = await this.env.transaction(() => {
        let k = 0;
        for (const key of this.tombstones.getKeys({ end: horizon + 1, limit: 10_000 })) {
          this.tombstones.removeSync(key);
          k++;
        }
        return k;
      });
      purged += n;
      if (n === 0) return purged;
    }
  }

  /**
   * stats: document, tombstone and index entry counts, identities and file size. Cheap on
   * any size of database (B-tree counters, no scan); per-collection counts are in
   * `collectionCounts()`, which reads every document.
   */
  stats(): DocumentDatabaseStats {
    const identities: Record<string, number> = {};
    for (const { key, value } of this.identities.getRange({})) identities[key] = value;
    const indexes = this.listIndexes().map((def) => ({ ...def, entries: countEntries(this.indexDb(def)) }));
    const dataFile = existsSync(`${this.path}/data.mdb`) ? `${this.path}/data.mdb` : this.path;
    return {
      databaseId: this.databaseId,
      documents: countEntries(this.docs),
      tombstones: countEntries(this.tombstones),
      lastEtag: this.lastEtag,
      identities,
      indexes,
      fileBytes: statSync(dataFile).size,
    };
  }

  /** collectionCounts: live documents per collection (reads every document: O(database)). */
  collectionCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { value } of this.docs.getRange({})) counts[value.collection] = (counts[value.collection] ?? 0) + 1;
    return counts;
  }

  /** close: close the environment (idempotent). Pending async writes are flushed first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.env.close();
  }

  #checkWritable(): void {
    if (this.#readOnly) throw new InvalidArgumentError('database was opened read-only');
  }
}

function countEntries(db: { getStats(): unknown }): number {
  return (db.getStats() as { entryCount: number }).entryCount;
}

function encodeKey(key: IndexKey | undefined): Buffer | undefined {
  if (key === undefined) return undefined;
  return Buffer.from(toBufferKey(key as Key));
}

function checkCollection(collection: string): void {
  if (typeof collection !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(collection)) {
    throw new InvalidArgumentError(`Expected a collection name like "Users" for collection but received ${JSON.stringify(collection)}`);
  }
}

/**
 * openDatabase: open the document database at `path` (a directory), creating it unless
 * `create: false`. An existing lmdb-js environment that was not made by openDatabase is a
 * NotADocumentDbError (it is left untouched).
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): DocumentDatabase {
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidArgumentError(`Expected a directory path for path but received ${JSON.stringify(path)}`);
  }
  const readOnly = options.readOnly === true;
  const exists = existsSync(`${path}/data.mdb`);
  if (!exists && (readOnly || options.create === false)) {
    throw new NotADocumentDbError(`no database at ${path} (data.mdb not found)`);
  }
  const env = open({
    path,
    // Always a folder: lmdb-js would take a folder name with a dot in it for a data file.
    noSubdir: false,
    maxDbs: options.maxDbs ?? 256,
    readOnly,
    noSync: options.noSync,
    pageSize: options.pageSize,
  });
  const db = new DocumentDatabase(path, env, readOnly);
  try {
    const schema = db.meta.get(MetaKeys.schemaVersion);
    if (schema === undefined) {
      if (exists && hasForeignData(env)) {
        throw new NotADocumentDbError(`${path} holds an lmdb-js environment that is not a pagevault document database`);
      }
      if (readOnly) throw new NotADocumentDbError(`${path} is not initialised as a document database`);
      env.transactionSync(() => {
        if (db.meta.get(MetaKeys.schemaVersion) !== undefined) return;
        db.meta.putSync(MetaKeys.schemaVersion, SCHEMA_VERSION);
        db.meta.putSync(MetaKeys.databaseId, randomUUID());
        db.meta.putSync(MetaKeys.lastEtag, 0);
        db.meta.putSync(MetaKeys.indexesVersion, 0);
        db.meta.putSync(MetaKeys.createdAt, new Date().toISOString());
        db.meta.putSync(MetaKeys.tombstoneHorizon, 0);
      });
    } else if (schema !== SCHEMA_VERSION) {
      throw new NotADocumentDbError(`${path} has document schema version ${String(schema)}; this pagevault reads ${SCHEMA_VERSION}`);
    }
  } catch (err) {
    void env.close();
    throw err;
  }
  return db;
}

/**
 * putTombstoneConsumer: inside a write transaction, record in `@meta` (opened as `meta`)
 * that consumer `name` has carried every change up to `etag` (never moved back), and the
 * resulting horizon. Shared by DocumentDatabase and JSON backups, which work on an
 * application's environment without a DocumentDatabase handle.
 */
export function putTombstoneConsumer(meta: Database<unknown, string>, name: string, etag: number): void {
  const v = meta.get(MetaKeys.tombstoneConsumers);
  const all: Record<string, number> = typeof v === 'object' && v !== null ? { ...(v as Record<string, number>) } : {};
  all[name] = Math.max(all[name] ?? 0, etag);
  meta.putSync(MetaKeys.tombstoneConsumers, all);
  meta.putSync(MetaKeys.tombstoneHorizon, Math.min(...Object.values(all)));
}

/** hasForeignData: true when the root store holds entries other than our named databases. */
function hasForeignData(env: RootDatabase): boolean {
  // Named-database records live in the root tree too; lmdb-js's getRange skips none of
  // them, so look at raw keys: ours all start with '@'.
  for (const key of env.getKeys({ start: Buffer.from([0]) as unknown as string })) {
    const s = typeof key === 'string' ? key : String(key);
    if (!s.startsWith('@')) return true;
  }
  return false;
}
