/**
 * naive-json-export: what an application without a backup tool would write: for every
 * named database (listed as in ../named-dbs.ts), `getRange()` over all entries and one
 * `JSON.stringify({ db, key, value })` line per entry, written to one file through a
 * write stream that honours backpressure (await 'drain' whenever write() returns false).
 * No compression, no encryption. Ends with fsync. Values decode with lmdb-js defaults
 * (msgpack + shared structures); Buffers serialise as {"type":"Buffer","data":[…]} and
 * BigInts as strings (only on the slow path, after JSON.stringify throws).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { fsyncPath } from '../fs-util.js';
import { openReadOnlyEnv, type ReadOnlyEnv } from '../named-dbs.js';
import type { Scenario } from '../scenario.js';

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** scenario: naive-json-export. */
export const scenario: Scenario<ReadOnlyEnv> = {
  name: 'naive-json-export',
  description: 'peer: lmdb-js getRange() over every named DB + JSON.stringify per entry → NDJSON file (backpressure), + fsync',
  async prepare(ctx) {
    return openReadOnlyEnv(ctx.envDir);
  },
  async run(ctx, env) {
    const file = path.join(ctx.outDir, 'export.ndjson');
    // A path-based stream, fsync'ed through a new descriptor after it closed (fsync
    // flushes the inode). Not `filehandle.createWriteStream({ autoClose: false })` +
    // `filehandle.sync()`: on Node 20.20 that sync() never settled once the stream had
    // written more than one chunk (reproduced outside the harness).
    const out = createWriteStream(file);
    let entries = 0;
    for (const info of env.listing.dbs) {
      const db = env.openNamed(info);
      for (const { key, value } of db.getRange()) {
        let line: string;
        try {
          line = JSON.stringify({ db: info.name, key, value });
        } catch {
          line = JSON.stringify({ db: info.name, key, value }, bigintSafe);
        }
        entries++;
        if (!out.write(line + '\n')) await once(out, 'drain');
      }
    }
    out.end();
    await finished(out);
    await fsyncPath(file);
    return { outputPath: file, extra: { entries, databases: env.listing.dbs.length } };
  },
  async after(_ctx, env) {
    await env.close();
  },
};
