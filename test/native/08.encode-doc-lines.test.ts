// The native doc-line encoder (native/doc_encoder.h, encode_doc_lines.h) against real lmdb-js 3.5.6: for every
// line it encodes (kind 1), the key and value bytes must be exactly what lmdb-js stores for
// `putSync(id, fromJsonValue(JSON.parse(line).v))` on a default store; every line it cannot vouch for must come back
// as kind 0 with its exact offsets. The oracle reads the stored bytes back through binary handles (never used to
// write: a keyEncoding 'binary' handle would bypass lmdb-js's zero-padded key buffer, see src/generate/generate.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { open, type Database, type RootDatabase } from 'lmdb';
import { describe, expect, it } from 'vitest';

import { fromJsonValue, toJsonText } from '../../src/json/value-json.js';
import { nativeEncodeDocLines, type EncodedDocLines } from '../../src/native/binding.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const ctx = useTmpEnv();
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'pagevault.js');
const BENCH_ENV = join(import.meta.dirname, '..', '..', '.bench-data', 'small-seed1', 'env');

/** docLine: a doc record line as the JS exporter writes it. */
function docLine(id: string, v: unknown): string {
  return `{"t":"doc","id":${JSON.stringify(id)},"v":${toJsonText(v)}}`;
}

/** storedBytes: puts every line's `v` with lmdb-js (default store) and returns its stored key and value bytes. */
function storedBytes(root: RootDatabase, lines: string[]): Array<{ key: Buffer; value: Buffer } | null> {
  const name = `docs${Math.random().toString(36).slice(2, 8)}`;
  const store: Database<unknown, string> = root.openDB(name, {});
  const ids: string[] = [];
  root.transactionSync(() => {
    for (const line of lines) {
      const parsed = JSON.parse(line) as { id: string; v: unknown };
      ids.push(parsed.id);
      store.putSync(parsed.id, fromJsonValue(parsed.v));
    }
  });
  const values = root.openDB<Buffer, string>(name, { encoding: 'binary' });
  const keys = root.openDB<Buffer, Buffer>(name, { keyEncoding: 'binary', encoding: 'binary' });
  const byValue = new Map<string, Buffer>();
  for (const { key, value } of keys.getRange()) byValue.set(Buffer.from(value).toString('hex'), Buffer.from(key));
  return ids.map((id) => {
    const value = values.getBinary(id);
    if (!value) return null;
    const copy = Buffer.from(value);
    return { key: byValue.get(copy.toString('hex')) ?? Buffer.alloc(0), value: copy };
  });
}

/** docBytes: the key and value bytes of encoded doc `d`. */
function docBytes(enc: EncodedDocLines, d: number): { key: Buffer; value: Buffer } {
  const o = enc.docOffsets.subarray(4 * d, 4 * d + 4);
  return { key: enc.data.subarray(o[0], o[1]), value: enc.data.subarray(o[2], o[3]) };
}

/** expectExact: every line is kind 1 and its bytes equal lmdb-js's. Values get distinct etags and ids. */
async function expectExact(root: RootDatabase, lines: string[]): Promise<void> {
  const enc = await nativeEncodeDocLines(Buffer.from(lines.join('\n')));
  const notEncoded = lines.filter((_, i) => enc.kinds[i] !== 1);
  expect(notEncoded).toEqual([]);
  const stored = storedBytes(root, lines);
  for (let i = 0; i < lines.length; i++) {
    const got = docBytes(enc, i);
    const want = stored[i];
    const label = lines[i].slice(0, 160);
    expect(want, label).not.toBeNull();
    expect(got.value.toString('hex'), label).toBe(want!.value.toString('hex'));
    expect(got.key.toString('hex'), label).toBe(want!.key.toString('hex'));
    expect(enc.etags[i], label).toBe((JSON.parse(lines[i]) as { v: { etag: number } }).v.etag);
  }
}

function doc(etag: number, body: unknown): Record<string, unknown> {
  return { etag, collection: 'Things', modified: 1700000000000 + etag, body };
}

const NUMBERS = [
  0, -0, 1, 31, 32, 63, 64, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1,
  2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, -1, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769,
  -(2 ** 31) + 1, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53), 0.1, -0.1, 0.5, 1.5, -2.5, 1e21, 1e-7, 1e300, -1e300,
  5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.30000000000000004, 123456.789, 1700000000000,
  NaN, Infinity, -Infinity,
];

function str(bytes: number, unit = 'a'): string {
  return unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit))).slice(0, Math.ceil(bytes / Buffer.byteLength(unit)) * unit.length);
}

describe('nativeEncodeDocLines: byte-exact against lmdb-js', () => {
  it('numbers at every msgpack boundary', async () => {
    const root = ctx.open();
    const lines = NUMBERS.map((n, i) => docLine(`n/${i}`, doc(i + 1, { n, list: [n, -n], nested: { n } })));
    await expectExact(root, lines);
  });

  it('number texts JSON.parse reads (exponents, fractions, long integers, -0.0)', async () => {
    const root = ctx.open();
    const texts = ['1e2', '1E+2', '100e-2', '1.0', '-0.0', '-0', '0e5', '12345678901234567890', '123456789012345',
      '1234567890123456', '9007199254740993', '4294967295.0', '2147483648', '-2147483648', '-2147483649', '0.1e1',
      '5e-324', '2.4703282292062327e-324', '2.4703282292062328e-324', '1e-400', '-1e-400', '1e400', '-1e400',
      '1.7976931348623157e308', '1.7976931348623159e308', '4.9406564584124654e-324', '3.141592653589793238462643383279'];
    const lines = texts.map((t, i) => `{"t":"doc","id":"t/${i}","v":{"etag":${i + 1},"x":${t},"y":[${t}]}}`);
    await expectExact(root, lines);
  });

  it('strings: lengths around every header, multi-byte, emoji, escapes', async () => {
    const root = ctx.open();
    const values: string[] = ['', 'a'];
    for (const n of [31, 32, 63, 64, 255, 256, 65535, 65536, 70000]) values.push(str(n));
    for (const unit of ['é', '中', '😀', 'a😀é']) {
      for (const n of [10, 20, 21, 31, 32, 33, 63, 64, 65, 85, 86, 255, 256, 300, 21845, 21846, 65536]) values.push(unit.repeat(n));
    }
    values.push('quote " backslash \\ slash / \b\f\n\r\t \u0001 \u001f \u007f \u2028 \u2029 \ud83d\ude00 end');
    values.push('\u0000nul');
    const lines = values.map((s, i) => docLine(`s/${i}`, doc(i + 1, { s, arr: [s], [s.slice(0, 40) || 'k']: 1 })));
    // The same strings written with \u escapes for everything non-ASCII (JSON.stringify never does that).
    const escaped = values.slice(0, 40).map((s, i) => {
      const text = JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      return `{"t":"doc","id":"e/${i}","v":{"etag":${i + 1},"s":${text},${text}:${text}}}`;
    });
    await expectExact(root, [...lines, ...escaped]);
  });

  it('objects, arrays, repeated shapes and more than 64 shapes in one value', async () => {
    const root = ctx.open();
    const many = Array.from({ length: 200 }, (_, i) => ({ [`k${i % 70}`]: i, inner: { [`j${i % 67}`]: [i] } }));
    const bodies: unknown[] = [
      {},
      [],
      { a: {}, b: {}, c: [{}, {}], d: [[], [[]]] },
      { x: { a: 1, b: 2 }, y: { a: 3, b: 4 }, z: [{ a: 5, b: 6 }, { b: 7, a: 8 }] },
      many,
      // An ancestor's shape evicted by its descendants' 64 definitions, then used again.
      { outer: { shapes: Array.from({ length: 66 }, (_, i) => ({ [`q${i}`]: i })) }, again: { shapes: 1 }, after: { outer: 2 } },
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, i])),
      Object.fromEntries(Array.from({ length: 70000 }, (_, i) => [`f${i}`, i % 3])),
      Array.from({ length: 15 }, (_, i) => i),
      Array.from({ length: 16 }, (_, i) => i),
      Array.from({ length: 65535 }, (_, i) => i & 7),
      Array.from({ length: 65536 }, (_, i) => i & 7),
      { 'a"b': 1, 'ü': 2, '😀': { '': 3 }, ' sp ace': [true, false, null] },
      { $pv: 'not a tag', v: 1 },
      { deep: JSON.parse('['.repeat(400) + ']'.repeat(400)) as unknown },
    ];
    const lines = bodies.map((body, i) => docLine(`o/${i}`, doc(i + 1, body)));
    await expectExact(root, lines);
  });

  it('binary, bigint, dates, undefined, NaN and the $pv obj wrapper', async () => {
    const root = ctx.open();
    const bins = [0, 1, 2, 3, 4, 255, 256, 65535, 65536].map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 37) & 255)));
    const bigints = [0n, 1n, -1n, 127n, 2n ** 31n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, 2n ** 64n - 1n];
    const dates = [0, 1, 999, 1000, 1700000000000, 1700000000123, -1, -999, -1000, -1500, 2 ** 32 * 1000 - 1000,
      2 ** 32 * 1000 - 1, 2 ** 32 * 1000, 8.64e15, -8.64e15, 253402300799999].map((ms) => new Date(ms));
    dates.push(new Date(NaN));
    const bodies: unknown[] = [
      ...bins.map((b) => ({ b, list: [b] })),
      ...bigints.map((n) => ({ n, list: [n] })),
      ...dates.map((d) => ({ d, list: [d] })),
      { u: undefined, list: [undefined, 1] },
      { f: [NaN, Infinity, -Infinity] },
      { wrapped: { $pv: 'x', inner: { a: new Date(5) } }, again: { $pv: 'y', inner: { a: 1 } } },
    ];
    const lines = bodies.map((body, i) => docLine(`p/${i}`, doc(i + 1, body)));
    // Date values JSON can hold that new Date() truncates.
    lines.push('{"t":"doc","id":"p/f","v":{"etag":900,"d":{"$pv":"date","v":1.75},"e":{"$pv":"date","v":-1.75},"g":{"$pv":"date","v":-0}}}');
    await expectExact(root, lines);
  });

  it('ids: ordered-binary escapes, unicode, long ids, key order and whitespace in the line', async () => {
    const root = ctx.open();
    const ids = ['users/1-A', 'a', '\u0005x', '\u001bescape', '\u001c', 'ü/😀', 'x'.repeat(63), 'é'.repeat(64), 'y'.repeat(1000)];
    const lines = ids.map((id, i) => docLine(id, doc(i + 1, { i })));
    lines.push(' { "t" : "doc" , "v" : { "etag" : 77 , "a" : [ 1 , 2 ] } , "id" : "ws/1" } \r');
    lines.push('{"t":"doc","id":"ws/2","v":{"etag":7.8e1,"b":{}}}');
    await expectExact(root, lines);
  });
});

describe('nativeEncodeDocLines: lines left to JSON.parse', () => {
  it('returns kind 0 for other records, malformed JSON and values it cannot vouch for, with exact offsets', async () => {
    const kind0 = [
      '{"t":"header","format":"pagevault-json","version":1}',
      '{"t":"end","records":3}',
      '{"t":"index","v":{"name":"x"}}',
      '{"t":"identity","collection":"Users","value":42}',
      '{"t":"tombstone","etag":5,"v":{"id":"a"}}',
      '{"t":"entry","db":null,"k":"a","v":1}',
      '{"t":"doc","id":"a","v":{"etag":1}',
      '{"t":"doc","id":"a","v":{"etag":1,}}',
      '{"t":"doc","id":"a","v":{"etag":1}} x',
      '{"t":"doc","id":"a","v":{"etag":01}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":.5}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":tru}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":"tab\there"}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":"\\x"}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":{"$pv":"mp","v":"AA=="}}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":{"$pv":"raw","v":"AA=="}}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":{"$pv":"what","v":1}}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":{"$pv":"bin","v":"A"}}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":{"$pv":"bin","v":"AA=="},"extra":{"$pv":"bigint","v":"18446744073709551616"}}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":{"$pv":"bigint","v":"1.5"}}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":{"$pv":"num","v":"nan"}}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":{"a":1,"$pv":"num","v":"NaN"}}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":{"$pv":"undefined","v":1}}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":"\\ud800"}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":"\\udc00\\ud800"}}',
      '{"t":"doc","id":"\\ud83d","v":{"etag":1}}',
      '{"t":"doc","id":"a","v":{"etag":1,"x":1,"x":2}}',
      '{"t":"doc","id":"a","v":{"etag":1,"2":1}}',
      '{"t":"doc","id":"a","v":{"etag":1,"__proto__":{}}}',
      '{"t":"doc","id":"a","v":{"etag":1,"constructor":1}}',
      '{"t":"doc","id":"a","v":{"collection":"x"}}',
      '{"t":"doc","id":"a","v":{"etag":0}}',
      '{"t":"doc","id":"a","v":{"etag":1.5}}',
      '{"t":"doc","id":"a","v":{"etag":"1"}}',
      '{"t":"doc","id":"a","v":{"etag":9007199254740992}}',
      '{"t":"doc","id":"","v":{"etag":1}}',
      '{"t":"doc","id":"a\\u0001b","v":{"etag":1}}',
      `{"t":"doc","id":"${'z'.repeat(1979)}","v":{"etag":1}}`,
      '{"t":"doc","id":5,"v":{"etag":1}}',
      '{"t":"doc","id":"a","v":[1]}',
      '{"t":"doc","id":"a","v":{"$pv":"obj","v":{"etag":1}}}',
      '{"id":"a","t":"doc","v":{"etag":1}}',
      '{"t":"doc","id":"a","v":{"etag":1},"x":1}',
      '{"t":"doc","id":"a","id":"b","v":{"etag":1}}',
      '{"t":"docs","id":"a","v":{"etag":1}}',
      `{"t":"doc","id":"a","v":{"etag":1,"x":${'['.repeat(600)}${']'.repeat(600)}}}`,
      '',
      'not json',
    ];
    const good = docLine('ok/1', doc(1, { fine: true }));
    const lines = [good, ...kind0, good];
    const raw = Buffer.concat([
      Buffer.from(lines.join('\n')),
      // Invalid UTF-8 inside a string, and a final line without '\n' that is a good doc.
      Buffer.from('\n{"t":"doc","id":"a","v":{"etag":1,"x":"\xff"}}\n', 'latin1'),
      Buffer.from(good),
    ]);
    const enc = await nativeEncodeDocLines(raw);
    const all = [...lines, '{"t":"doc","id":"a","v":{"etag":1,"x":"\xff"}}', good];
    expect(enc.kinds.length).toBe(all.length);
    const kinds = Array.from(enc.kinds);
    const wrong = all.filter((line, i) => kinds[i] !== (line === good ? 1 : 0));
    expect(wrong).toEqual([]);
    expect(enc.etags.length).toBe(3);
    expect(enc.docOffsets.length).toBe(12);
    let at = 0;
    for (let i = 0; i < all.length; i++) {
      const length = i === all.length - 2 ? Buffer.byteLength(all[i], 'latin1') : Buffer.byteLength(all[i]);
      expect([enc.lineOffsets[2 * i], enc.lineOffsets[2 * i + 1]]).toEqual([at, at + length]);
      at += length + 1;
    }
    expect(enc.lineOffsets[2 * all.length - 1]).toBe(raw.length);
    for (let d = 0; d < 3; d++) expect(docBytes(enc, d).key.toString()).toBe('ok/1');
  });

  it('handles empty input, a lone newline and rejects non-Buffers', async () => {
    const empty = await nativeEncodeDocLines(Buffer.alloc(0));
    expect([empty.kinds.length, empty.lineOffsets.length, empty.docOffsets.length, empty.etags.length, empty.data.length]).toEqual([0, 0, 0, 0, 0]);
    const newline = await nativeEncodeDocLines(Buffer.from('\n'));
    expect(Array.from(newline.kinds)).toEqual([0]);
    expect(Array.from(newline.lineOffsets)).toEqual([0, 0]);
    await expect(nativeEncodeDocLines('x' as unknown as Buffer)).rejects.toBeInstanceOf(TypeError);
  });

  it('keeps the key size limit in step with lmdb-js', () => {
    const root = ctx.open();
    const store = root.openDB<number, string>('limit', {});
    // kMaxDocKeyBytes in native/doc_encoder.h.
    expect(() => store.putSync('k'.repeat(1978), 1)).not.toThrow();
    expect(() => store.putSync('k'.repeat(1979), 1)).toThrow();
  });
});

describe('nativeEncodeDocLines: a generated dataset', () => {
  it('encodes every document of a 20k-doc export exactly as stored, and reports its throughput', async () => {
    const db = join(ctx.dir, 'db');
    const file = join(ctx.dir, 'export.ndjson');
    execFileSync(process.execPath, [CLI, 'generate', '--db', db, '--docs', '20000', '--quiet'], { stdio: 'ignore' });
    execFileSync(process.execPath, [CLI, 'export', '--db', db, '--out', file], { stdio: 'ignore' });
    const text = readFileSync(file);
    const enc = await nativeEncodeDocLines(text);
    const lines = text.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    expect(enc.kinds.length).toBe(lines.length);
    const docLines = lines.filter((l) => l.startsWith('{"t":"doc"'));
    const kind0Docs = lines.filter((l, i) => l.startsWith('{"t":"doc"') && enc.kinds[i] !== 1).length;
    console.log(`generated export: ${docLines.length} doc lines, ${kind0Docs} of them left to JSON.parse (kind 0)`);
    expect(kind0Docs).toBe(0);
    expect(enc.etags.length).toBe(20000);

    const env = open({ path: db, noSubdir: false, readOnly: true, maxDbs: 512 });
    try {
      const raw = env.openDB<Buffer, Buffer>('@docs', { keyEncoding: 'binary', encoding: 'binary' });
      const stored = new Map<string, Buffer>();
      for (const { key, value } of raw.getRange()) stored.set(Buffer.from(key).toString('hex'), Buffer.from(value));
      expect(stored.size).toBe(20000);
      let mismatches = 0;
      for (let d = 0; d < enc.etags.length; d++) {
        const { key, value } = docBytes(enc, d);
        const want = stored.get(key.toString('hex'));
        if (!want || !want.equals(value)) mismatches++;
      }
      expect(mismatches).toBe(0);
    } finally {
      await env.close();
    }

    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await nativeEncodeDocLines(text);
      best = Math.min(best, performance.now() - t0);
    }
    console.log(`nativeEncodeDocLines, ${(text.length / 2 ** 20).toFixed(1)} MiB export: ${Math.round((20000 / best) * 1000).toLocaleString('en-US')} docs/s, ${(text.length / 2 ** 20 / (best / 1000)).toFixed(0)} MiB/s (best of 5, one thread)`);
  });

  // The bench dataset (175k documents, 167 MiB of JSON) when `npm run bench` has seeded it; prints, never asserts speed.
  it.skipIf(!existsSync(join(BENCH_ENV, 'data.mdb')))('reports throughput on the bench dataset', async () => {
    const file = join(ctx.dir, 'bench.ndjson');
    execFileSync(process.execPath, [CLI, 'export', '--db', BENCH_ENV, '--out', file], { stdio: 'ignore' });
    const text = readFileSync(file);
    let best = Infinity;
    let docs = 0;
    let kind0 = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const enc = await nativeEncodeDocLines(text);
      best = Math.min(best, performance.now() - t0);
      docs = enc.etags.length;
      kind0 = enc.kinds.length - docs;
    }
    console.log(`nativeEncodeDocLines, bench dataset ${(text.length / 2 ** 20).toFixed(0)} MiB: ${docs.toLocaleString('en-US')} docs (${kind0} other lines), ${Math.round((docs / best) * 1000).toLocaleString('en-US')} docs/s, ${(text.length / 2 ** 20 / (best / 1000)).toFixed(0)} MiB/s (best of 3, one thread)`);
  });
});
