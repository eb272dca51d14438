/**
 * env-digest: a digest of everything an lmdb-js environment holds, for comparing a
 * restored copy with its source: every named database (found from the data file by
 * envInfo, so nothing is missed) with its flags, and every (key, value) pair read as raw
 * bytes, plus the root store's own entries.
 */
import { createHash } from 'node:crypto';
import { open, type Database, type RootDatabase, type Transaction } from 'lmdb';
import { envInfo } from '../../src/snapshot/env-info.js';

export interface EnvDigest {
  digest: string;
  databases: Record<string, { entries: number; digest: string }>;
}

/** digestOpenEnv: digest of an already open root, optionally as of a pinned read transaction. */
export async function digestOpenEnv(env: RootDatabase, path: string, transaction?: Transaction): Promise<EnvDigest> {
  const info = await envInfo(path);
  const all = createHash('sha256');
  const databases: EnvDigest['databases'] = {};
  const names = (info.namedDatabases ?? []).map((d) => ({ name: d.name, dupSort: (d.flags & 0x04) !== 0, flags: d.flags }));
  const rootRaw = env.openDB<Buffer, Buffer>(null as unknown as string, { keyEncoding: 'binary', encoding: 'binary' } as never);
  for (const target of [{ name: '', dupSort: false, flags: 0 }, ...names]) {
    const db: Database<Buffer, Buffer> = target.name === ''
      ? rootRaw
      : env.openDB<Buffer, Buffer>(target.name, { keyEncoding: 'binary', encoding: 'binary', dupSort: target.dupSort });
    const h = createHash('sha256');
    let entries = 0;
    for (const { key, value } of db.getRange({ transaction, start: Buffer.alloc(0) } as never)) {
      // Named-database records live in the root store too; their values change with every write, skip them there.
      if (target.name === '' && names.some((n) => Buffer.from(`${n.name}\0`).equals(key as Buffer))) continue;
      h.update(lengthPrefixed(key as Buffer)).update(lengthPrefixed(value as Buffer));
      entries++;
    }
    const d = h.digest('hex');
    databases[target.name || '(root)'] = { entries, digest: d };
    all.update(`${target.name}\0${target.flags & ~0x100}\0${d}\n`);
  }
  return { digest: all.digest('hex'), databases };
}

/** digestEnv: digest of the environment at `path` (opened read-only here, then closed). */
export async function digestEnv(path: string): Promise<EnvDigest> {
  const env = open({ path, readOnly: true, maxDbs: 1000, noSubdir: false });
  try {
    return await digestOpenEnv(env, path);
  } finally {
    await env.close();
  }
}

function lengthPrefixed(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([len, b]);
}
