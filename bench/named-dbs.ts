/**
 * named-dbs: list the named databases of an lmdb-js environment.
 *
 * lmdb-js has no listing API, but LMDB keeps one record per named database in the main
 * (unnamed) database: the key is the name INCLUDING its terminating NUL byte (the
 * bundled LMDB 1.0 `mdb_dbi_open` uses `strlen(name) + 1` as the key size; 0.9.x did
 * not store the NUL), and the value is the 48-byte `MDB_db` struct (64-bit build):
 *
 *   offset 0  u32 md_pad   | 4 u16 md_flags | 6 u16 md_depth | 8 u64 md_branch_pages
 *   16 u64 md_leaf_pages   | 24 u64 md_overflow_pages | 32 u64 md_entries | 40 u64 md_root
 *
 * (node_modules/lmdb/dependencies/lmdb/libraries/liblmdb/mdb.c, `MDB_db`, `mdb_dbi_open`.)
 * So we open the root store with binary key and value encodings, walk it with
 * `getRange()`, keep keys that end in NUL and have a 48-byte value, and confirm each by
 * opening it: LMDB itself checks the node's F_SUBDATA flag and fails an ordinary entry
 * with MDB_INCOMPATIBLE. Anything else in the root is an ordinary entry (the project's
 * document database writes none; see src/docdb/layout.ts).
 *
 * Named databases must be opened with explicit encodings: `openDB` inherits the root's
 * (here binary) encodings otherwise, and LMDB does not record lmdb-js encodings. We
 * follow the document database (src/docdb/database.ts): ordered-binary keys everywhere;
 * values msgpack (lmdb-js default, shared record structures), except the index databases
 * `@index/<name>`, whose values (document ids) are ordered-binary. `mapsAsObjects` makes
 * plain msgpack maps decode as objects: lmdb-js's default decoder returns them as `Map`s
 * (JSON.stringify → `{}`). Today's generator writes msgpackr records, which decode as
 * objects anyway; an earlier version wrote plain maps, and the option costs nothing.
 * If the layout changes its encodings, change `valueEncodingFor` — a wrong guess fails
 * loudly (msgpackr: "Data read, but end of buffer not reached"), it is not silent.
 */
import { open, type Database, type DatabaseOptions, type RootDatabase } from 'lmdb';
import { indexDbName } from '../src/docdb/layout.js';

/** MDB_DB_SIZE: sizeof(MDB_db) on 64-bit builds. */
const MDB_DB_SIZE = 48;
/** LMDB database flags (lmdb.h). */
const MDB_REVERSEKEY = 0x02;
const MDB_DUPSORT = 0x04;
const MDB_INTEGERKEY = 0x08;

/** NamedDbInfo: one named database as recorded in the root. */
export interface NamedDbInfo {
  name: string;
  /** `md_flags` (persistent flags: MDB_DUPSORT 0x04, MDB_INTEGERKEY 0x08, …). */
  flags: number;
  dupSort: boolean;
  /** `md_entries`: entries, counting each duplicate of a dupSort key. */
  entries: number;
  /** Branch + leaf + overflow pages of the tree. */
  pages: number;
}

/** EnvListing: the named databases plus the count of ordinary entries in the root. */
export interface EnvListing {
  dbs: NamedDbInfo[];
  rootPlainEntries: number;
}

/** ReadOnlyEnv: an environment opened read-only for benchmark scenarios. */
export interface ReadOnlyEnv {
  /** Root store with binary keys and values; use it for `backup()` and stats. */
  root: RootDatabase<Buffer, Buffer>;
  listing: EnvListing;
  /** openNamed: open a listed database with lmdb-js default encodings. */
  openNamed(db: NamedDbInfo): Database;
  close(): Promise<void>;
}

/**
 * openReadOnlyEnv: open `envDir` (a directory environment holding data.mdb) read-only and
 * list its named databases. The caller must `close()` it. `maxDbs` is generous because
 * LMDB needs a slot per named database opened by this handle.
 */
export function openReadOnlyEnv(envDir: string, maxDbs = 1024): ReadOnlyEnv {
  const root = open<Buffer, Buffer>(envDir, { readOnly: true, keyEncoding: 'binary', encoding: 'binary', maxDbs });
  const dbs: NamedDbInfo[] = [];
  let rootPlainEntries = 0;
  const candidates: Array<{ key: Buffer; value: Buffer }> = [];
  for (const { key, value } of root.getRange()) {
    if (key.length > 1 && key[key.length - 1] === 0 && value.length === MDB_DB_SIZE) {
      candidates.push({ key: Buffer.from(key), value: Buffer.from(value) });
    } else {
      rootPlainEntries++;
    }
  }
  const opened = new Map<string, Database>();
  for (const { key, value } of candidates) {
    const name = key.subarray(0, key.length - 1).toString('utf8');
    const flags = value.readUInt16LE(4);
    try {
      const db = openWithDefaults(root, name, flags);
      if (!db) {
        rootPlainEntries++;
        continue;
      }
      opened.set(name, db);
    } catch (err) {
      // MDB_INCOMPATIBLE: a plain root entry that merely looks like a record.
      if (err instanceof Error && /INCOMPATIBLE/.test(err.message)) {
        rootPlainEntries++;
        continue;
      }
      throw err;
    }
    dbs.push({
      name,
      flags,
      dupSort: (flags & MDB_DUPSORT) !== 0,
      entries: Number(value.readBigUInt64LE(32)),
      pages: Number(value.readBigUInt64LE(8) + value.readBigUInt64LE(16) + value.readBigUInt64LE(24)),
    });
  }
  return {
    root,
    listing: { dbs, rootPlainEntries },
    openNamed(db) {
      const handle = opened.get(db.name);
      if (!handle) throw new RangeError(`Expected a listed named database for db but received ${JSON.stringify(db.name)}`);
      return handle;
    },
    close: () => root.close(),
  };
}

function openWithDefaults(root: RootDatabase<Buffer, Buffer>, name: string, flags: number): Database | undefined {
  if (flags & MDB_REVERSEKEY) {
    // lmdb-js has no option for reverse-key databases; the bytes would still be read
    // correctly but keys would not round-trip through ordered-binary. Not used here.
    throw new RangeError(`Expected no MDB_REVERSEKEY database but received ${JSON.stringify(name)}`);
  }
  // mapsAsObjects is passed through to msgpackr by lmdb-js (open.js) but missing from its types.
  const options: DatabaseOptions & { mapsAsObjects?: boolean } = {
    encoding: valueEncodingFor(name),
    keyEncoding: flags & MDB_INTEGERKEY ? 'uint32' : 'ordered-binary',
    dupSort: (flags & MDB_DUPSORT) !== 0,
    mapsAsObjects: true,
  };
  return root.openDB(name, options);
}

/** INDEX_DB_PREFIX: `@index/`, from the layout's own naming function. */
const INDEX_DB_PREFIX = indexDbName('');

/** valueEncodingFor: the lmdb-js value encoding the document database uses for `name`. */
export function valueEncodingFor(name: string): 'msgpack' | 'ordered-binary' {
  return name.startsWith(INDEX_DB_PREFIX) ? 'ordered-binary' : 'msgpack';
}
