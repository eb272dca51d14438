/**
 * open-root: the lmdb-js root store a backup of an environment works through: one this
 * process already has open (found in lmdb-js's registry of open stores), or a new one.
 *
 * Reusing an open handle matters: opening a second lmdb-js handle runs a synchronous write
 * transaction (lmdb-js's openDB does), which deadlocks while the first handle's writer
 * thread holds the write lock waiting for a JS transaction callback.
 */
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import * as lmdb from 'lmdb';
import { open, type RootDatabase } from 'lmdb';
import { InvalidArgumentError, KeyRequiredError } from '../errors.js';
import type { EnvInfo } from './env-info.js';

/**
 * findOpenRoot: a writable lmdb-js store this process already has open on the environment
 * whose data file is `dataPath`, from lmdb-js's own registry of open stores (`allDbs`), or
 * undefined. Any store of an environment can pin it (pinning uses environment-level calls).
 */
export function findOpenRoot(dataPath: string): RootDatabase | undefined {
  const registry = (lmdb as unknown as { allDbs?: Map<string, unknown> }).allDbs;
  if (!registry) return undefined;
  const target = realpathSync(dataPath);
  for (const store of registry.values()) {
    const s = store as { path?: string; status?: string; readOnly?: boolean; transaction?: unknown; env?: { address?: number } };
    // A closed environment has address 0 (named stores of it still say status 'open').
    if (typeof s.path !== 'string' || s.status === 'closed' || !s.env?.address || s.readOnly || typeof s.transaction !== 'function') continue;
    try {
      const real = realpathSync(s.path);
      if (real === target || `${real}/data.mdb` === target) return store as RootDatabase;
    } catch {
      // A store whose folder is gone is not ours to use.
    }
  }
  return undefined;
}


/**
 * openRootFor: the open root of `info`'s environment (findOpenRoot), or a new read-write
 * handle (`own: true`: the caller closes it) with room for `maxDbs` named databases; an
 * lmdb-js-encrypted environment opens only with its `encryptionKey` (KeyRequiredError without).
 * Read-write because pinning needs lmdb-js's write lock for an instant (LMDB-INTERNALS.md
 * §0); nothing is written.
 */
export function openRootFor(info: EnvInfo, maxDbs: number, encryptionKey?: string): { env: RootDatabase; own: boolean } {
  const found = findOpenRoot(info.dataPath);
  if (found) return { env: found, own: false };
  if (info.encrypted && encryptionKey === undefined) {
    throw new KeyRequiredError(`${info.dataPath} is encrypted by lmdb-js: give its encryptionKey (--db-key-env or --db-key-file) to open it, or pass the application's open database`);
  }
  // Say which layout it is: lmdb-js guesses from a dot in the name, which a folder may have too.
  const noSubdir = !info.dataPath.endsWith('/data.mdb');
  return { env: open({ path: noSubdir ? info.dataPath : dirname(info.dataPath), noSubdir, maxDbs, ...(encryptionKey === undefined ? {} : { encryptionKey }) }), own: true };
}

/** envPathOf: the environment path of `db` (a path, or an open lmdb-js root); InvalidArgumentError otherwise. */
export function envPathOf(db: string | RootDatabase): string {
  const path = typeof db === 'string' ? db : (db as unknown as { path?: string }).path;
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('Expected a database path or an open lmdb-js root for db');
  return path;
}
