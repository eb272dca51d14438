// The native JSON export cursor (native/export_cursor.h, export_handle.h) against real lmdb-js 3.5.6 environments:
// every value kind msgpackr writes, dupSort sub-pages and sub-databases, uint32 keys, useVersions, the root store,
// shared structures, 8 KiB pages, batch splitting and close() during a batch. The oracle is lmdb-js itself: each
// exported line, read back through src/json/value-json.ts's fromJsonValue (and lmdb-js's decoder for the `mp`
// fallback), must equal what getRange returns for the same key, in the same order.
import { readKey } from 'ordered-binary';
import { describe, expect, it } from 'vitest';
import { asBinary, type Database, type RootDatabase } from 'lmdb';
import { unpack } from 'msgpackr';

import { ErrorCodes } from '../../src/errors.js';
import { fromJsonValue, isJsonWritable, OpaqueValue } from '../../src/json/value-json.js';
import { nativeOpenExport, type ExportDbSpec, type ExportOptions } from '../../src/native/binding.js';
import { pinSnapshot } from '../../src/snapshot/pin.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const ctx = useTmpEnv();

interface Line {
  key: unknown;
  rawKey?: Buffer;
  value: unknown;
  fallback: boolean;
  version?: number;
  text: string;
}

/**
 * exportAll: pins `root`, exports `dbs` with batches of `maxBytes`, and returns the concatenated text and batches.
 * The default thread count applies unless `options` says otherwise (test/native/09 compares thread counts).
 */
async function exportAll(root: RootDatabase, dbs: ExportDbSpec[], maxBytes = 1 << 22, options?: ExportOptions) {
  const pinned = await pinSnapshot(root);
  const handle = nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, dbs, options);
  const batches: Buffer[] = [];
  let entries = 0;
  let fallbacks = 0;
  try {
    for (let b = await handle.nextBatch(maxBytes); b !== null; b = await handle.nextBatch(maxBytes)) {
      batches.push(b.data);
      entries += b.entries;
      fallbacks += b.fallbacks;
    }
    expect(await handle.nextBatch(maxBytes)).toBeNull();
    const stats = handle.stats();
    expect(stats.entries).toBe(entries);
    expect(stats.fallbacks).toBe(fallbacks);
    expect(stats.bytes).toBe(batches.reduce((n, b) => n + b.length, 0));
    return { text: Buffer.concat(batches).toString('utf8'), batches, entries, fallbacks, stats };
  } finally {
    handle.close();
    pinned.release();
  }
}

/** parseLines: the lines of one database's export (prefix `{"k":`), decoded with the value-json rules. */
function parseLines(text: string, db: Database, keyEncoding: 'ordered' | 'uint32' | 'binary' = 'ordered'): Line[] {
  const lines = text.split('\n');
  expect(lines.pop()).toBe('');
  return lines.map((line) => {
    const parsed = JSON.parse(line) as { k: unknown; v: unknown; ver?: number };
    let key = fromJsonValue(parsed.k);
    let rawKey: Buffer | undefined;
    if (key instanceof OpaqueValue) {
      rawKey = key.bytes;
      key = keyEncoding === 'binary' ? key.bytes : readKey(key.bytes, 0, key.bytes.length);
    }
    let value = fromJsonValue(parsed.v);
    let fallback = false;
    if (value instanceof OpaqueValue) {
      fallback = true;
      value = value.kind === 'mp' ? (db as unknown as { decoder: { decode(b: Buffer): unknown } }).decoder.decode(value.bytes) : value.bytes;
    }
    return { key, rawKey, value, fallback, version: parsed.ver, text: line };
  });
}

/** norm: Uint8Arrays as Buffers, recursively, so that toEqual compares bytes whatever the class. */
function norm(value: unknown, seen = 0): unknown {
  if (seen > 2000) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map((v) => norm(v, seen + 1));
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, norm(v, seen + 1)]));
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = norm(v, seen + 1);
    return out;
  }
  return value;
}

/** expectMatchesRange: the exported lines equal db.getRange() (same keys in order, same values). */
function expectMatchesRange(lines: Line[], db: Database, options: { versions?: boolean } = {}): void {
  const expected = [...db.getRange({ versions: options.versions } as never)] as { key: unknown; value: unknown; version?: number }[];
  // getRange starts at key [5]: it skips null, symbol keys (the shared-structures entry) and other low keys.
  const visible = lines.filter((l) => l.rawKey === undefined || (l.rawKey[0] ?? 0) >= 5);
  expect(visible.map((l) => l.key)).toEqual(expected.map((e) => e.key));
  for (let i = 0; i < expected.length; i++) {
    const line = visible[i] as Line;
    const entry = expected[i] as { key: unknown; value: unknown; version?: number };
    expect(norm(line.value), line.text.slice(0, 200)).toEqual(norm(entry.value));
    if (options.versions) expect(line.version).toBe(entry.version);
  }
}

const spec = (name: string | null, extra: Partial<ExportDbSpec> = {}): ExportDbSpec => ({
  name,
  prefix: '{"k":',
  keyMode: 'string',
  valueMode: 'msgpack',
  ...extra,
});

function manyShapes(n: number): Record<string, number>[] {
  return Array.from({ length: n }, (_, i) => ({ [`shape${i}`]: i, common: i * 2 }));
}

const KINDS: [unknown, unknown][] = [
  ['nested', { a: { b: { c: [1, 2, { d: 'e' }] } }, list: [[], {}, [[1]]], n: null, t: true, f: false }],
  ['ints', [0, 1, 63, 64, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31)]],
  ['bigints', [2n ** 63n, 2n ** 64n - 1n, -5n, -(2n ** 63n), 12345678901234567890n]],
  ['floats', [0.1, -0.5, 1e300, 5e-324, -1.7976931348623157e308, 2 ** 53 + 2, 1e21, 123.456, 2 ** 40 + 0.5]],
  ['special-numbers', [NaN, Infinity, -Infinity, -0]],
  ['strings', ['', 'plain', 'a"b\\c\n\r\t\b\f\u0001\u001f\u007f', 'é 日本語 😀 \u2028\u2029', 'x'.repeat(70) + '"\n😀']],
  ['lone-surrogate-short', 'a\ud800b'],
  ['lone-surrogate-obj', { s: '\udc00', t: 'ok' }],
  ['lone-surrogate-long', 'y'.repeat(80) + '\ud800'],
  ['buffers', { b: Buffer.from([0, 1, 2, 250, 255]), e: Buffer.alloc(0), big: Buffer.alloc(70000, 7) }],
  ['dates', [new Date(0), new Date(1700000000123), new Date(-1), new Date(-86400000 * 365 * 100 + 7), new Date(8.64e15), new Date(5000000000000)]],
  ['undefined', [undefined, { u: undefined }]],
  ['top-undefined', undefined],
  ['map-number-keys', new Map([[1, 'a'], [2, 'b']])],
  ['map-string-keys', new Map([['a', 1]])],
  ['set', new Set([1, 'two', 3])],
  ['pv-first', { $pv: 'looks like a tag', v: 1 }],
  ['pv-nested', [{ $pv: 'obj', v: { $pv: 'x' } }]],
  ['proto', JSON.parse('{"__proto__": 1, "a": 2}') as unknown],
  ['many-keys', Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`key_${i}`, i]))],
  ['many-shapes', manyShapes(150)],
  ['big-object', { text: 'z'.repeat(250_000), list: Array.from({ length: 5000 }, (_, i) => ({ i, s: `item ${i}` })) }],
  ['big-string', 'w'.repeat(210_000)],
  ['deep', JSON.parse('['.repeat(600) + ']'.repeat(600)) as unknown],
  ['typed', new Float64Array([1.5, 2.5])],
  ['\u0005low-first-char', 1],
  ['k'.repeat(1900), 'long key'],
  [42, 'number key'],
  [['array', 'key', 3], 'array key'],
  [-7.5, 'negative number key'],
];

describe('native JSON export: value kinds', () => {
  it('every msgpackr value kind round-trips through fromJsonValue to what lmdb-js returns', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const db = root.openDB({ name: 'kinds' });
    await root.transaction(() => {
      for (const [key, value] of KINDS) db.put(key as never, value);
    });
    const { text, fallbacks } = await exportAll(root, [spec('kinds')]);
    const lines = parseLines(text, db);
    expectMatchesRange(lines, db);
    const byKey = new Map(lines.map((l) => [JSON.stringify(l.key), l]));
    const fallbackKeys = lines.filter((l) => l.fallback).map((l) => l.key);
    expect(fallbackKeys.sort()).toEqual(
      ['lone-surrogate-short', 'lone-surrogate-obj', 'map-number-keys', 'map-string-keys', 'deep'].sort(),
    );
    expect(fallbacks).toBe(fallbackKeys.length);
    // The TypeScript twin agrees on what JSON can express (the deep array is only over the native depth limit; a lone
    // surrogate is what msgpackr's decoding makes of the stored bytes, not necessarily what was put).
    for (const line of lines) {
      if (line.key !== 'deep' && !String(line.key).startsWith('lone-surrogate')) expect(isJsonWritable(line.value), String(line.key)).toBe(!line.fallback);
    }
    // Spot checks of the exact JSON text.
    expect(byKey.get('"special-numbers"')?.text).toBe(
      '{"k":"special-numbers","v":[{"$pv":"num","v":"NaN"},{"$pv":"num","v":"Infinity"},{"$pv":"num","v":"-Infinity"},0]}',
    );
    expect(byKey.get('"strings"')?.text).toContain('"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u007f"');
    expect(byKey.get('"pv-first"')?.text).toBe('{"k":"pv-first","v":{"$pv":"obj","v":{"$pv":"looks like a tag","v":1}}}');
    expect(byKey.get('"bigints"')?.text).toContain('{"$pv":"bigint","v":"9223372036854775808"}');
    expect(byKey.get('"\\u0005low-first-char"')?.text).toBe('{"k":"\\u0005low-first-char","v":1}');
    expect(byKey.get('42')?.text).toMatch(/^\{"k":\{"\$pv":"key","v":"[A-Za-z0-9+/=]+"\},"v":"number key"\}$/);
    for (const line of lines) expect(JSON.stringify(JSON.parse(line.text))).toBeTruthy();
  });

  it('crafted msgpack: float32, uint64/int64, fixext timestamps, trailing bytes, truncation and unknown extensions', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const db = root.openDB({ name: 'crafted' });
    const cases: [string, number[], string | null][] = [
      ['f32', [0xca, 0x3f, 0xc0, 0x00, 0x00], '1.5'],
      ['f32-tenth', [0xca, 0x3d, 0xcc, 0xcc, 0xcd], '0.10000000149011612'],
      ['u64', [0xcf, 0, 0, 0, 0, 0, 0, 0, 5], '{"$pv":"bigint","v":"5"}'],
      ['i64', [0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], '{"$pv":"bigint","v":"-2"}'],
      ['ts32', [0xd6, 0xff, 0, 0, 0, 10], '{"$pv":"date","v":10000}'],
      ['fixint-no-record', [0x45], '69'],
      ['undef', [0xd4, 0x00, 0x00], '{"$pv":"undefined"}'],
      ['trailing', [0x01, 0x02], null],
      ['truncated-str', [0xa5, 0x61], null],
      ['truncated-array', [0xdd, 0xff, 0xff, 0xff, 0xff, 0x01], null],
      ['unknown-ext', [0xd4, 0x10, 0x00], null],
      ['c1', [0xc1], null],
      ['bad-utf8', [0xa2, 0xc3, 0x28], null],
      ['overlong', [0xa2, 0xc0, 0x80], null],
      ['record-numeric-key', [0xd4, 0x72, 0x40, 0x91, 0x01, 0x02], null],
      ['record-two-byte-def', [0xd5, 0x72, 0x60, 0x00, 0x90], null],
      ['bad-timestamp', [0xd4, 0xff, 0xff], null],
      ['empty', [], null],
    ];
    await root.transaction(() => {
      for (const [key, bytes] of cases) db.put(key, asBinary(Buffer.from(bytes)));
    });
    const { text } = await exportAll(root, [spec('crafted')]);
    const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { k: string; v: unknown });
    const byKey = new Map(lines.map((l) => [l.k, l]));
    for (const [key, bytes, json] of cases) {
      const line = byKey.get(key);
      if (json === null) {
        expect(line?.v, key).toEqual({ $pv: 'mp', v: Buffer.from(bytes).toString('base64') });
      } else {
        expect(JSON.stringify(line?.v), key).toBe(json);
      }
    }
  });
});

describe('native JSON export: databases', () => {
  it('dupSort databases: single values, sub-pages and sub-databases, each duplicate its own line, in order', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const dups = root.openDB({ name: 'dups', dupSort: true });
    await root.transaction(() => {
      dups.put('one', 'only');
      for (let v = 0; v < 5; v++) dups.put('few', `v${v}`);
      for (let v = 0; v < 3000; v++) dups.put('many', { v, s: `value ${v}` });
      for (let v = 0; v < 40; v++) dups.put('some', v * 1000);
    });
    const { text, entries } = await exportAll(root, [spec('dups')]);
    expect(entries).toBe(1 + 5 + 3000 + 40);
    const lines = parseLines(text, dups);
    expectMatchesRange(lines, dups);
  });

  it('uint32 keys, useVersions and binary/string encodings', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const ints = root.openDB({ name: 'ints', keyEncoding: 'uint32' });
    const versioned = root.openDB({ name: 'versioned', useVersions: true });
    const strings = root.openDB({ name: 'strings', encoding: 'string' });
    const binary = root.openDB({ name: 'binary', encoding: 'binary', keyEncoding: 'binary' });
    await root.transaction(() => {
      for (let k = 0; k < 2000; k++) ints.put(k * 7919, { k });
      for (let k = 0; k < 50; k++) versioned.put(`v${k}`, { k }, k * 1.5 + 1);
      strings.put('a', 'text "quoted"\n');
      strings.put('b', 'ünïcödé');
      binary.put(Buffer.from([1, 2, 3]), Buffer.from([9, 8, 7]));
      binary.put(Buffer.from('plain'), Buffer.from('bytes'));
    });
    let out = await exportAll(root, [spec('ints', { keyMode: 'uint32' })]);
    expectMatchesRange(parseLines(out.text, ints, 'uint32'), ints);
    expect(out.text.startsWith('{"k":0,"v":{"k":0}}\n{"k":7919,')).toBe(true);
    out = await exportAll(root, [spec('versioned', { versions: true })]);
    expectMatchesRange(parseLines(out.text, versioned), versioned, { versions: true });
    expect(out.text.split('\n')[1]).toBe('{"k":"v1","v":{"k":1},"ver":2.5}');
    out = await exportAll(root, [spec('strings', { valueMode: 'string' })]);
    expect(out.text).toBe('{"k":"a","v":"text \\"quoted\\"\\n"}\n{"k":"b","v":"ünïcödé"}\n');
    out = await exportAll(root, [spec('binary', { keyMode: 'raw', valueMode: 'binary' })]);
    expect(out.text).toBe(
      '{"k":{"$pv":"key","v":"AQID"},"v":{"$pv":"bin","v":"CQgH"}}\n{"k":{"$pv":"key","v":"cGxhaW4="},"v":{"$pv":"bin","v":"Ynl0ZXM="}}\n',
    );
    out = await exportAll(root, [spec('binary', { keyMode: 'string', valueMode: 'raw' })]);
    expect(out.text.split('\n')[1]).toBe('{"k":"plain","v":{"$pv":"raw","v":"Ynl0ZXM="}}');
  });

  it('the root store skips named-database records; databases come in the order given; empty and missing ones', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const a = root.openDB({ name: 'a' });
    root.openDB({ name: 'empty' });
    await root.transaction(() => {
      root.put('root-1', { r: 1 });
      root.put('zzz', 'last');
      a.put('x', 1);
    });
    const out = await exportAll(root, [
      spec('a', { prefix: '{"db":"a","k":' }),
      spec('empty', { prefix: '{"db":"empty","k":' }),
      spec(null, { prefix: '{"db":null,"k":' }),
    ]);
    expect(out.text).toBe(
      '{"db":"a","k":"x","v":1}\n{"db":null,"k":"root-1","v":{"r":1}}\n{"db":null,"k":"zzz","v":"last"}\n',
    );

    const pinned = await pinSnapshot(root);
    try {
      const handle = nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, [spec('a'), spec('nope')]);
      await expect(handle.nextBatch(1 << 20)).rejects.toMatchObject({
        code: ErrorCodes.NOT_FOUND,
        message: expect.stringContaining("database 'nope' does not exist") as unknown,
      });
      await expect(handle.nextBatch(1)).rejects.toThrow(/failed earlier/);
      handle.close();
      expect(() => nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, [{ name: 1 } as never])).toThrow(
        TypeError,
      );
      expect(() =>
        nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, [spec('a', { keyMode: 'utf8' as never })]),
      ).toThrow(/keyMode/);
    } finally {
      pinned.release();
    }
  });

  it('shared structures read from the same snapshot', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const db = root.openDB({ name: 'shared', sharedStructuresKey: Symbol.for('structures') });
    await root.transaction(() => {
      for (let i = 0; i < 500; i++) db.put(`doc${String(i).padStart(4, '0')}`, { id: i, name: `n${i}`, tags: [`t${i % 3}`], nested: { a: i } });
      for (let i = 0; i < 50; i++) db.put(`shape${i}`, { [`only${i}`]: i, x: 'y' });
    });
    const raw = db.getBinary(Symbol.for('structures'));
    expect(raw).toBeDefined();
    const structures = unpack(raw as Buffer) as string[][];
    expect(structures.length).toBeGreaterThan(0);
    const { text, fallbacks } = await exportAll(root, [spec('shared', { structures })]);
    const lines = parseLines(text, db);
    expectMatchesRange(lines, db);
    expect(lines.filter((l) => l.rawKey === undefined && l.fallback)).toEqual([]);
    expect(fallbacks).toBe(0);
  });

  it('8 KiB pages', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false, pageSize: 8192 });
    const db = root.openDB({ name: 'docs' });
    const dups = root.openDB({ name: 'dups', dupSort: true });
    await root.transaction(() => {
      for (let i = 0; i < 5000; i++) db.put(`d${i}`, { i, body: 'b'.repeat(i % 900) });
      for (let i = 0; i < 10; i++) db.put(`big${i}`, 'B'.repeat(20_000 + i * 5000));
      for (let v = 0; v < 2000; v++) dups.put('many', v);
    });
    const pinned = await pinSnapshot(root);
    expect(pinned.metas.pageSize).toBe(8192);
    pinned.release();
    const out = await exportAll(root, [spec('docs'), spec('dups', { prefix: '{"dup":1,"k":' })]);
    const text = out.text.split('\n');
    const docLines = text.filter((l) => l.startsWith('{"k":')).join('\n') + '\n';
    expectMatchesRange(parseLines(docLines, db), db);
    expect(text.filter((l) => l.startsWith('{"dup":1,')).length).toBe(2000);
  });
});

describe('native JSON export: batches', () => {
  it('lines are never split: every batch ends with a newline and the batches concatenate to one big batch', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const db = root.openDB({ name: 'docs' });
    const dups = root.openDB({ name: 'dups', dupSort: true });
    await root.transaction(() => {
      for (let i = 0; i < 3000; i++) db.put(`doc${i}`, { i, text: 't'.repeat(i % 300) });
      db.put('huge', 'h'.repeat(100_000));
      for (let v = 0; v < 1500; v++) dups.put('many', v);
      for (let v = 0; v < 5; v++) dups.put('few', v);
    });
    const dbs = [spec('docs'), spec('dups')];
    const whole = await exportAll(root, dbs, 1 << 30, { threads: 1 });
    expect(whole.batches.length).toBe(1);
    for (const threads of [1, 2]) {
      for (const maxBytes of [1, 100, 4096, 65_536]) {
        const split = await exportAll(root, dbs, maxBytes, { threads, rangeLeafPages: 4 });
        expect(split.text).toBe(whole.text);
        expect(split.entries).toBe(3001 + 1505);
        for (const batch of split.batches) {
          expect(batch[batch.length - 1]).toBe(0x0a);
          // One line per batch at maxBytes 1, except on one thread a dupSort sub-page (the 5 values of 'few'), which
          // the single cursor writes whole; the threaded export cuts its chunks at every line.
          const lines = batch.toString().split('\n').filter(Boolean);
          if (maxBytes === 1 && lines.length > 1) expect(lines.every((l) => l.startsWith('{"k":"few"'))).toBe(true);
        }
        if (maxBytes === 1) expect(split.batches.length).toBe(threads === 1 ? 3001 + 1500 + 1 : 3001 + 1505);
      }
    }
  });

  it('close() while a batch runs: the batch rejects with ABORTED or settles; the handle refuses further calls', async () => {
    const root = ctx.open({ maxDbs: 10, noSubdir: false });
    const db = root.openDB({ name: 'docs' });
    await root.transaction(() => {
      for (let i = 0; i < 50_000; i++) db.put(`doc${i}`, { i, text: 'some text to transcode' });
    });
    const pinned = await pinSnapshot(root);
    try {
      const handle = nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, [spec('docs')]);
      const pending = handle.nextBatch(1 << 30);
      await expect(handle.nextBatch(1)).rejects.toThrow(/pending/);
      handle.close();
      handle.close();
      const outcome = await pending.then(
        (b) => (b === null ? 'null' : 'batch'),
        (err: unknown) => (err as { code?: string }).code,
      );
      expect(['batch', ErrorCodes.ABORTED]).toContain(outcome);
      await expect(handle.nextBatch(1)).rejects.toThrow(/closed/);
    } finally {
      pinned.release();
    }
  });
});
