/**
 * The native document encoder and the JS path (JSON.parse + lmdb-js's own encoder) build
 * byte-identical databases, equal to the source in every named database but @meta (a
 * restored database gets its own id).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/docdb/database.js';
import { generateDataset } from '../../src/generate/generate.js';
import { exportJson, importJson } from '../../src/json/standalone.js';
import { envInfo } from '../../src/snapshot/env-info.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { oddValues } from './support.js';

const tmp = useTmpEnv('pv-json-paths-');

async function rawDump(path: string): Promise<Record<string, string[]>> {
  const info = await envInfo(path);
  const env = open({ path, readOnly: true, noSubdir: false, maxDbs: 64 });
  const out: Record<string, string[]> = {};
  try {
    for (const d of info.namedDatabases ?? []) {
      if (d.name === '@meta') continue;
      const db = env.openDB(d.name, { keyEncoding: 'binary', encoding: 'binary', dupSort: (d.flags & 0x04) !== 0 });
      out[d.name] = [...db.getRange({ start: Buffer.alloc(0) } as never)].map(({ key, value }) => `${(key as Buffer).toString('hex')}=${(value as Buffer).toString('hex')}`);
    }
  } finally {
    await env.close();
  }
  return out;
}

describe('JSON import paths', () => {
  it('native encoder and JS path build the same bytes as the source', async () => {
    const src = join(tmp.dir, 'src');
    await generateDataset({ path: src, docs: 6000, seed: 'paths', threads: 0 });
    const db = openDatabase(src);
    try {
      await db.put('Odd', 'odd/1', oddValues());
      await db.put('Odd', '\u0010low-first-char', { a: 1 });
      await db.put('Odd', 'odd/digits', { '1': 'x', '2': 'y', __proto__: null } as never);
      await db.delete('users/3-A');
    } finally {
      await db.close();
    }
    const file = join(tmp.dir, 'x.ndjson');
    await exportJson({ db: src, out: createWriteStream(file) });
    const native = await importJson({ to: join(tmp.dir, 'native'), input: createReadStream(file) });
    const js = await importJson({ to: join(tmp.dir, 'js'), input: createReadStream(file), encodeDocs: null });
    expect(native.docs).toBe(js.docs);
    const expected = await rawDump(src);
    expect(await rawDump(join(tmp.dir, 'native'))).toEqual(expected);
    expect(await rawDump(join(tmp.dir, 'js'))).toEqual(expected);
  }, 60_000);
});
