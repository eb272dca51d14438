/**
 * layout: how the embedded document database lays itself out in one lmdb-js environment.
 * Backups depend on this layout (a JSON backup carries documents, index definitions and
 * identities, never the built index data), so it is versioned by `SCHEMA_VERSION` and
 * changes only with a migration.
 *
 * Named databases (all under the `@` prefix so they never clash with an application's):
 * | name             | key (ordered-binary)        | value                                  |
 * |------------------|-----------------------------|----------------------------------------|
 * | `@docs`          | document id (string)        | StoredDocument (msgpack, records)      |
 * | `@etags`         | etag (number)               | document id (string)                   |
 * | `@tombstones`    | etag (number)               | Tombstone (msgpack)                    |
 * | `@identities`    | collection name (string)    | last identity handed out (number)      |
 * | `@indexes`       | index name (string)         | IndexDefinition (msgpack)              |
 * | `@meta`          | setting name (string)       | any (msgpack), see MetaKeys            |
 * | `@index/<name>`  | index key (ordered-binary)  | document id; dupSort unless unique     |
 *
 * Every change to a document (put or delete) happens in one LMDB write transaction that
 * also updates `@etags`, `@tombstones`, the index databases and `@meta.lastEtag`, so any
 * snapshot of the environment is a consistent state of all of them.
 */

/** SCHEMA_VERSION: bumped on any incompatible change to the table above. */
export const SCHEMA_VERSION = 1;

/** Names of the fixed named databases. */
export const DbNames = {
  docs: '@docs',
  etags: '@etags',
  tombstones: '@tombstones',
  identities: '@identities',
  indexes: '@indexes',
  meta: '@meta',
} as const;

/** indexDbName: the named database holding the built data of index `name`. */
export function indexDbName(name: string): string {
  return `@index/${name}`;
}

/** Keys in `@meta`. */
export const MetaKeys = {
  /** Number: SCHEMA_VERSION of the layout that wrote the environment. */
  schemaVersion: 'schemaVersion',
  /** String: a random id fixed when the database is created; backups record it. */
  databaseId: 'databaseId',
  /** Number: the highest etag handed out; 0 in an empty database. */
  lastEtag: 'lastEtag',
  /** Number: bumped whenever an index is defined or dropped, so open handles reload definitions. */
  indexesVersion: 'indexesVersion',
  /** String: ISO time of creation. */
  createdAt: 'createdAt',
  /**
   * Number: the smallest etag every tombstone consumer (JSON backup chain) has carried up
   * to. Tombstones at or below it may be purged; later ones must stay (RavenDB's rule).
   */
  tombstoneHorizon: 'tombstoneHorizon',
  /** Object: consumer name → last etag it carried (see DocumentDatabase.tombstoneConsumers). */
  tombstoneConsumers: 'tombstoneConsumers',
} as const;

/** StoredDocument: the value stored under a document id in `@docs`. */
export interface StoredDocument {
  /** Etag of the write that produced this version; unique and increasing across the database. */
  etag: number;
  /** Collection the document belongs to (`Users`, `Orders`, …). */
  collection: string;
  /** Milliseconds since the epoch of the write. */
  modified: number;
  /** The document itself: any JSON-like value msgpackr can encode (objects, arrays, binary, dates). */
  body: Record<string, unknown>;
}

/** Tombstone: what a delete leaves behind in `@tombstones` so incrementals can carry it. */
export interface Tombstone {
  id: string;
  collection: string;
  /** Etag the deleted version had. */
  deletedEtag: number;
  /** Milliseconds since the epoch of the delete. */
  deleted: number;
}

/** IndexDefinition: a stored index definition (`@indexes`). */
export interface IndexDefinition {
  /** Unique name; `[A-Za-z0-9_.-]`, at most 64 characters. */
  name: string;
  /** Only documents of this collection are indexed. */
  collection: string;
  /** Dotted field paths into the body (`address.city`); more than one makes a compound key. */
  fields: string[];
  /** When true, two documents can't share one key: a write that would do so fails. */
  unique?: boolean;
}
