/**
 * docdb: the embedded document database pagevault's demos, tests and benchmarks back up
 * (collections of JSON documents with etags, tombstones, identities and indexes, on
 * lmdb-js). Its on-disk layout is in layout.ts; backups of the "backup" (JSON) type rely
 * on it. The backup engine itself works on any lmdb-js environment.
 */
export { DocumentDatabase, openDatabase, idPrefix, identityId, putTombstoneConsumer } from './database.js';
export type { OpenDatabaseOptions, PutResult, Document, IndexQuery, DocumentDatabaseStats } from './database.js';
export { indexKeysFor, validateIndexDefinition } from './index-keys.js';
export type { IndexKey, IndexScalar } from './index-keys.js';
export { DbNames, MetaKeys, SCHEMA_VERSION, indexDbName } from './layout.js';
export type { StoredDocument, Tombstone, IndexDefinition } from './layout.js';
