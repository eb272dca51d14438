/**
 * JSON export/import of generic lmdb-js environments: every named database comes back
 * with its flags and encoding (msgpack, string, binary, dupSort, uint32 keys, useVersions,
 * the root store's own entries), values JSON cannot express come back byte for byte, and
 * incremental JSON backups are refused with a pointer to snapshot incrementals.
 */
import { createWriteStream, createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { backupJson } from '../../src/backup/json-backup.js';
import { ErrorCodes } from '../../src/errors.js';
import { exportJson, importJson } from '../../src/json/standalone.js';
import { envInfo } from '../../src/snapshot/env-info.js';
import { oddValues } from './support.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv('pv-json-env-');

interface DbSpec {
  name: string;
  options: Record<string, unknown>;
}

const DBS: DbSpec[] = [
  { name: 'msgpack', options: {} },
  { name: 'strings', options: { encoding: 'string' } },
  { name: 'bytes', options: { encoding: 'binary' } },
  { name: 'dups', options: { dupSort: true, encoding: 'ordered-binary' } },
  { name: 'dupsMany', options: { dupSort: true, encoding: 'ordered-binary' } },
  { name: 'ints', options: { keyEncoding: 'uint32' } },
  { name: 'versioned', options: { useVersions: true } },
  { name: 'jsonEnc', options: { encoding: 'json' } },
  { name: 'mixedKeys', options: {} },
];

async function fill(env: RootDatabase): Promise<void> {
  const dbs = Object.fromEntries(DBS.map((d) => [d.name, env.openDB(d.name, d.options as never)])) as Record<string, ReturnType<RootDatabase['openDB']>>;
  await env.transaction(() => {
    env.putSync('root-key', { in: 'root store' });
    env.putSync('root-2', [1, 2, 3]);
    for (let i = 0; i < 300; i++) dbs.msgpack.putSync(`k${String(i).padStart(4, '0')}`, { i, s: `v${i}`, nested: { a: [i, i * 1.5] } });
    dbs.msgpack.putSync('odd', oddValues());
    dbs.msgpack.putSync('big', { blob: Buffer.alloc(150_000, 7), text: 'y'.repeat(70_000) });
    dbs.strings.putSync('hello', 'wörld ✓ "q"\n');
    dbs.strings.putSync('empty', '');
    dbs.bytes.putSync('b1', Buffer.from([0, 255, 10, 13]));
    dbs.bytes.putSync('b2', Buffer.alloc(20_000, 3));
    for (let k = 0; k < 5; k++) for (let v = 0; v < 4; v++) dbs.dups.putSync(`d${k}`, `value-${v}`);
    for (let v = 0; v < 2000; v++) dbs.dupsMany.putSync('one-key', `dup-${String(v).padStart(5, '0')}`); // a dupSort sub-database
    for (let i = 0; i < 100; i++) dbs.ints.putSync(i * 1000 + 7, { n: i });
    dbs.versioned.putSync('a', { x: 1 }, 42);
    dbs.versioned.putSync('b', 'text', 7.5);
    dbs.jsonEnc.putSync('j', { json: true, list: [1, 'two'] });
    dbs.mixedKeys.putSync(12345, 'number key');
    dbs.mixedKeys.putSync(['compound', 2], 'array key');
    dbs.mixedKeys.putSync('\u0001low', 'escaped first char');
    dbs.mixedKeys.putSync('x'.repeat(1900), 'long key');
  });
}

function contents(env: RootDatabase): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {
    // The root store's range also lists the named databases' records (their values are LMDB records, not
    // msgpack): compare its keys, and the values of the application's own root entries.
    '': [[...env.getKeys({})], ['root-key', env.get('root-key')], ['root-2', env.get('root-2')]],
  };
  for (const d of DBS) {
    const db = env.openDB(d.name, d.options as never);
    out[d.name] = [...db.getRange({ versions: d.name === 'versioned' } as never)].map((e) => {
      const x = e as { key: unknown; value: unknown; version?: number };
      return d.name === 'versioned' ? [x.key, x.value, x.version] : [x.key, x.value];
    });
  }
  return out;
}

describe('JSON export/import of a generic lmdb-js environment', () => {
  it('recreates every named database with its flags, encodings, versions and values', async () => {
    const src = join(tmp.dir, 'src');
    const env = open({ path: src, maxDbs: 32, noSubdir: false });
    await fill(env);
    const file = join(tmp.dir, 'export.ndjson');
    const stats = await exportJson({ db: src, out: createWriteStream(file), dbOptions: { strings: { encoding: 'string' }, bytes: { encoding: 'binary' }, jsonEnc: { encoding: 'json' }, dups: { encoding: 'ordered-binary' }, dupsMany: { encoding: 'ordered-binary' } } });
    expect(stats.kind).toBe('env');
    expect(stats.entries).toBe(2 + 302 + 2 + 2 + 20 + 2000 + 100 + 2 + 1 + 4);
    const to = join(tmp.dir, 'copy');
    const imported = await importJson({ to, input: createReadStream(file) });
    expect(imported.kind).toBe('env');
    expect(imported.entries).toBe(stats.entries);
    const copy = open({ path: to, maxDbs: 32, noSubdir: false });
    try {
      expect(contents(copy)).toEqual(contents(env));
      const a = await envInfo(src);
      const b = await envInfo(to);
      const shape = (i: typeof a) => i.namedDatabases!.map((d) => ({ name: d.name, flags: d.flags, entries: d.entries }));
      expect(shape(b)).toEqual(shape(a));
    } finally {
      await copy.close();
      await env.close();
    }
  });

  it('decodes a store with msgpackr shared structures with the snapshot\'s structures, and the copy reads on with them', async () => {
    const src = join(tmp.dir, 'src');
    const env = open({ path: src, maxDbs: 8, noSubdir: false });
    const opts = { sharedStructuresKey: Symbol.for('structures') };
    const shared = env.openDB('shared', opts);
    await env.transaction(() => {
      for (let i = 0; i < 500; i++) {
        const shape = i % 3;
        shared.putSync(`s${String(i).padStart(4, '0')}`, shape === 0 ? { id: i, name: `n${i}` } : shape === 1 ? { id: i, tags: ['a', i], nested: { deep: i * 2 } } : { when: new Date(1_700_000_000_000 + i), ok: i % 2 === 0 });
      }
    });
    const expected = [...shared.getRange({})].map(({ key, value }) => [key, value]);
    // The values really use shared structures (a bare record id, no inline definition).
    const rawFirst = (env.openDB('shared', { encoding: 'binary' }) as unknown as { getBinary(k: string): Buffer }).getBinary('s0000');
    expect(rawFirst[0] & 0xc0).toBe(0x40);
    await env.close();

    const file = join(tmp.dir, 'shared.ndjson');
    const stats = await exportJson({ db: src, out: createWriteStream(file), dbOptions: { shared: { sharedStructures: true } } });
    expect(stats.fallbacks).toBe(0);
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"db":"shared"') && l.includes('"t":"entry"'));
    expect(lines.filter((l) => l.includes('"s0001"'))[0]).toContain('"v":{"id":1,"tags":["a",1],"nested":{"deep":2}}');
    expect(lines.filter((l) => l.includes('"$pv":"mp"'))).toEqual([]);

    const to = join(tmp.dir, 'copy');
    await importJson({ to, input: createReadStream(file) });
    const copy = open({ path: to, maxDbs: 8, noSubdir: false });
    try {
      const restored = copy.openDB('shared', opts);
      expect([...restored.getRange({})].map(({ key, value }) => [key, value])).toEqual(expected);
      // The application writes on through its shared structures.
      await restored.put('new', { id: 9999, name: 'after restore' });
      expect(restored.get('new')).toEqual({ id: 9999, name: 'after restore' });
    } finally {
      await copy.close();
    }
  });

  it('decompresses lmdb-js compression stores (LZ4 with its dictionary) for the export, and the copy compresses again', async () => {
    const src = join(tmp.dir, 'src');
    const env = open({ path: src, maxDbs: 8, noSubdir: false });
    const specs = {
      zipped: { compression: true },
      zippedStr: { compression: true, encoding: 'string' },
      zippedVer: { compression: true, useVersions: true },
      zippedShared: { compression: true, sharedStructuresKey: Symbol.for('structures') },
    } as const;
    const dbs = Object.fromEntries(Object.entries(specs).map(([n, o]) => [n, env.openDB(n, o as never)])) as Record<keyof typeof specs, ReturnType<RootDatabase['openDB']>>;
    const words = 'lorem ipsum dolor sit amet backup restore value document '.split(' ');
    const text = (i: number, n: number): string => Array.from({ length: n }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ');
    await env.transaction(() => {
      for (let i = 0; i < 200; i++) {
        // Over lmdb-js's 1000-byte threshold: stored compressed; and small ones stored plain.
        dbs.zipped.putSync(`big${i}`, { i, body: text(i, 400), list: [i, text(i, 30)] });
        dbs.zipped.putSync(`small${i}`, { i });
        dbs.zippedStr.putSync(`s${i}`, text(i, 300));
        dbs.zippedVer.putSync(`v${i}`, { body: text(i, 300) }, i + 0.5);
        dbs.zippedShared.putSync(`r${i}`, { id: i, body: text(i, 250) });
      }
      // Values whose encoding starts with lmdb-js's marker bytes (msgpack -1 is 0xff) are compressed whatever their size.
      dbs.zipped.putSync('minus-one', -1);
      dbs.zipped.putSync('minus-six', -6);
    });
    const read = (e: RootDatabase, n: keyof typeof specs): unknown[] =>
      [...e.openDB(n, specs[n] as never).getRange({ versions: n === 'zippedVer' } as never)].map((x) => {
        const r = x as { key: unknown; value: unknown; version?: number };
        return [r.key, r.value, r.version];
      });
    const expected = Object.fromEntries(Object.keys(specs).map((n) => [n, read(env, n as keyof typeof specs)]));
    const raw = env.openDB('zipped', { encoding: 'binary' }) as unknown as { getBinary(k: string): Buffer };
    expect(raw.getBinary('big1')[0]).toBeGreaterThanOrEqual(250);
    expect(raw.getBinary('minus-one')[0]).toBeGreaterThanOrEqual(250);
    await env.close();

    const file = join(tmp.dir, 'zipped.ndjson');
    const dbOptions = { zipped: { compression: true }, zippedStr: { compression: true, encoding: 'string' as const }, zippedVer: { compression: true }, zippedShared: { compression: true, sharedStructures: true } };
    const stats = await exportJson({ db: src, out: createWriteStream(file), dbOptions });
    expect(stats.fallbacks).toBe(0);
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"t":"entry"'));
    expect(lines.filter((l) => l.includes('"$pv":"raw"') || l.includes('"$pv":"mp"'))).toEqual([]);
    expect(lines.find((l) => l.includes('"minus-one"'))).toContain('"v":-1');
    expect(lines.find((l) => l.includes('"k":"s3"'))).toContain(`"v":${JSON.stringify(text(3, 300))}`);

    const to = join(tmp.dir, 'copy');
    await importJson({ to, input: createReadStream(file) });
    const copy = open({ path: to, maxDbs: 8, noSubdir: false });
    try {
      for (const n of Object.keys(specs)) expect(read(copy, n as keyof typeof specs), n).toEqual(expected[n]);
      // The restored store compresses as the source did.
      const copyRaw = copy.openDB('zipped', { encoding: 'binary' }) as unknown as { getBinary(k: string): Buffer };
      expect(copyRaw.getBinary('big1')[0]).toBeGreaterThanOrEqual(250);
    } finally {
      await copy.close();
    }
  });

  it('refuses an incremental JSON backup of a generic environment and names snapshot incrementals', async () => {
    const src = join(tmp.dir, 'src');
    const env = open({ path: src, maxDbs: 32, noSubdir: false });
    await env.put('a', 1);
    await env.close();
    const dest = join(tmp.dir, 'backups');
    const full = await backupJson({ db: src, destination: dest });
    expect(full.kind).toBe('full-backup');
    await expect(backupJson({ db: src, destination: dest, incremental: true })).rejects.toMatchObject({
      code: ErrorCodes.INCREMENTAL_UNAVAILABLE,
      message: expect.stringMatching(/snapshot/),
    });
  });

  it('refuses options for a database that does not exist, or an unknown encoding', async () => {
    const src = join(tmp.dir, 'src');
    const env = open({ path: src, maxDbs: 8, noSubdir: false });
    await env.openDB('real', {}).put('a', 1);
    await env.close();
    const out = () => createWriteStream(join(tmp.dir, `o${Math.random()}.ndjson`));
    await expect(exportJson({ db: src, out: out(), dbOptions: { ghost: { encoding: 'string' } } })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, message: expect.stringMatching(/ghost/) });
    await expect(exportJson({ db: src, out: out(), dbOptions: { real: { encoding: 'yaml' as never } } })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });
});
