/**
 * lmdb-copy-compact: lmdb-js `backup(dir, true)`, LMDB's `mdb_env_copy2` with
 * MDB_CP_COMPACT: walks every tree and writes only live pages, renumbered, omitting the
 * free list. Same target handling as lmdb-copy (see there).
 */
import { makeCopyScenario } from './lmdb-copy.js';

/** scenario: lmdb-copy-compact. */
export const scenario = makeCopyScenario(
  'lmdb-copy-compact',
  true,
  'lmdb-js backup(dir, true) = mdb_env_copy2 with MDB_CP_COMPACT (live pages only), + fsync',
);
