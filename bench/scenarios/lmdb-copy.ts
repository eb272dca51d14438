/**
 * lmdb-copy: the floor. lmdb-js `backup(dir, false)`, i.e. LMDB's `mdb_env_copy2` without
 * compaction: a consistent copy of every page up to the last used one, written with
 * O_DIRECT by a libuv worker thread (node_modules/lmdb/src/env.cpp CopyWorker).
 *
 * Target handling (lmdb-js 3.5.6 open.js `backup`, mdb.c `mdb_env_copy2`): lmdb-js only
 * creates `dirname(path)`; for a directory environment LMDB appends `/data.mdb` to the
 * path, so the target DIRECTORY must already exist, and the file must not (O_EXCL). We
 * create `<outDir>/copy` in `prepare`. LMDB does not fsync the copy, so the timed step
 * ends with an fsync of data.mdb (cheap after O_DIRECT writes).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsyncPath } from '../fs-util.js';
import { openReadOnlyEnv, type ReadOnlyEnv } from '../named-dbs.js';
import type { Scenario } from '../scenario.js';

/** CopyState: the opened env and the target directory. */
export interface CopyState {
  env: ReadOnlyEnv;
  target: string;
}

/** makeCopyScenario: `lmdb-copy` (compact = false) or `lmdb-copy-compact` (compact = true). */
export function makeCopyScenario(name: string, compact: boolean, description: string): Scenario<CopyState> {
  return {
    name,
    description,
    async prepare(ctx) {
      const target = path.join(ctx.outDir, 'copy');
      await fsp.mkdir(target);
      return { env: openReadOnlyEnv(ctx.envDir), target };
    },
    async run(_ctx, { env, target }) {
      await env.root.backup(target, compact);
      await fsyncPath(path.join(target, 'data.mdb'));
      return { outputPath: target };
    },
    async after(_ctx, { env }) {
      await env.close();
    },
  };
}

/** scenario: lmdb-copy. */
export const scenario = makeCopyScenario(
  'lmdb-copy',
  false,
  'floor: lmdb-js backup(dir, false) = mdb_env_copy2 raw page copy (O_DIRECT), + fsync',
);
