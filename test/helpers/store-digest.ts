/**
 * store-digest: a digest of the root store and the named databases `names` of an open
 * lmdb-js environment, read as raw bytes (entry count and a short hash per database), for
 * comparing a restored copy with its source when envInfo cannot list the databases (an
 * environment lmdb-js encrypts) or another lmdb-js build opened it (data format 1).
 * Named-database records in the root store are skipped; a database that does not exist is
 * left out.
 */
import { createHash } from 'node:crypto';
import type { RootDatabase } from 'lmdb';

export function digestStores(env: RootDatabase, names: readonly string[], dupSort: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['', ...names]) {
    if (name !== '' && env.openDB({ name, create: false } as never) === undefined) continue;
    const db = env.openDB<Buffer, Buffer>((name || null) as unknown as string, { keyEncoding: 'binary', encoding: 'binary', dupSort: dupSort.includes(name) } as never);
    const h = createHash('sha256');
    let n = 0;
    for (const { key, value } of db.getRange({ start: Buffer.alloc(0) } as never)) {
      if (name === '' && names.some((x) => Buffer.from(`${x}\0`).equals(key as Buffer))) continue;
      h.update(key as Buffer).update('\0').update(value as Buffer).update('\n');
      n++;
    }
    out[name || '(root)'] = `${n}:${h.digest('hex').slice(0, 16)}`;
  }
  return out;
}
