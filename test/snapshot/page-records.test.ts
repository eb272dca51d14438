// The page record stream: random streams cut into random chunks round-trip exactly; truncated and malformed
// streams are refused with stable codes; and a real snapshot restored through the stream opens in lmdb-js.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { BackupCorruptError, BackupTruncatedError, ErrorCodes } from '../../src/errors.js';
import { Rng } from '../../src/generate/prng.js';
import {
  decodePageRecords,
  encodePageRecords,
  PageRecordDecoder,
  PageRecordEncoder,
  type PageRecord,
  type PageStreamHeader,
} from '../../src/snapshot/page-records.js';
import { openPageSource } from '../../src/snapshot/page-source.js';
import { applyPageRecords } from '../../src/snapshot/snapshot-file.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { digestDatabases, lastTxnId, rawDb, seededBytes, withCopy, type DbSpec } from './support.js';

const ctx = useTmpEnv('pagevault-records-');

interface Generated {
  header: PageStreamHeader;
  metaPages: Buffer;
  /** pgno -> page bytes */
  pages: Map<number, Buffer>;
  stream: Buffer;
}

/** generate: a random snapshot (header, runs split into random batches) and its encoded stream. */
function generate(rng: Rng): Generated {
  const pageSize = rng.pick([512, 1024, 4096]);
  const lastPage = rng.int(1, 300);
  const txnId = rng.int(1, 1_000_000);
  const header: PageStreamHeader = {
    dataVersion: rng.chance(0.8) ? 2 : 1,
    pageSize,
    txnId,
    baseTxnId: rng.chance(0.5) ? 0 : rng.int(0, txnId),
    lastPage,
    encrypted: rng.chance(0.2),
  };
  const encoder = new PageRecordEncoder(header);
  const metaPages = seededBytes(() => rng.next(), 2 * pageSize);
  const parts: Buffer[] = [...encoder.begin(metaPages)];
  const pages = new Map<number, Buffer>();
  let pgno = 2;
  while (pgno <= lastPage && rng.chance(0.97)) {
    // One batch: a few runs with gaps between them.
    const runs: number[] = [];
    const data: Buffer[] = [];
    for (let r = rng.int(0, 4); r > 0 && pgno <= lastPage; r--) {
      pgno += rng.chance(0.5) ? 0 : rng.int(1, 5);
      if (pgno > lastPage) break;
      const count = rng.int(1, Math.min(12, lastPage - pgno + 1));
      runs.push(pgno, count);
      for (let i = 0; i < count; i++) {
        const page = seededBytes(() => rng.next(), pageSize);
        pages.set(pgno + i, page);
        data.push(page);
      }
      pgno += count;
    }
    parts.push(...encoder.batch({ runs: Float64Array.from(runs), data: Buffer.concat(data) }));
  }
  parts.push(...encoder.end());
  return { header, metaPages, pages, stream: Buffer.concat(parts) };
}

/** chunk: `stream` cut at random points (many 1-byte chunks, some large ones). */
function chunk(rng: Rng, stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; ) {
    const size = rng.chance(0.3) ? 1 : rng.int(1, rng.chance(0.5) ? 64 : 20_000);
    // Copies, so a decoder that kept references into a reused buffer would be caught by the comparison.
    chunks.push(Buffer.from(stream.subarray(at, at + size)));
    at += size;
  }
  return chunks;
}

function decodeAll(chunks: Buffer[]): PageRecord[] {
  const decoder = new PageRecordDecoder();
  const records = chunks.flatMap((c) => decoder.push(c));
  decoder.finish();
  return records;
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('page record stream', () => {
  it('round-trips random snapshots through random chunking', () => {
    const rng = new Rng(424242);
    for (let round = 0; round < 300; round++) {
      const generated = generate(rng);
      const records = decodeAll(chunk(rng, generated.stream));
      const begin = records[0];
      expect(begin?.type).toBe('begin');
      if (begin?.type !== 'begin') return;
      expect(begin.header).toEqual(generated.header);
      expect(begin.metaPages.equals(generated.metaPages)).toBe(true);
      const seen = new Map<number, Buffer>();
      let last = 1;
      for (const record of records.slice(1, -1)) {
        expect(record.type).toBe('pages');
        if (record.type !== 'pages') continue;
        expect(record.firstPgno).toBeGreaterThan(last);
        expect(record.data.length).toBe(record.count * generated.header.pageSize);
        for (let i = 0; i < record.count; i++) {
          const size = generated.header.pageSize;
          seen.set(record.firstPgno + i, record.data.subarray(i * size, (i + 1) * size));
        }
        last = record.firstPgno + record.count - 1;
      }
      expect(seen.size).toBe(generated.pages.size);
      for (const [pgno, page] of generated.pages) expect(seen.get(pgno)?.equals(page)).toBe(true);
      const end = records[records.length - 1];
      expect(end).toMatchObject({ type: 'end', pages: generated.pages.size });
    }
  });

  it('reports truncation anywhere before END, and nothing else', () => {
    const rng = new Rng(7);
    for (let round = 0; round < 100; round++) {
      const { stream } = generate(rng);
      const cut = rng.int(0, stream.length - 1);
      const err = errorOf(() => decodeAll(chunk(rng, stream.subarray(0, cut))));
      expect(err).toBeInstanceOf(BackupTruncatedError);
      expect((err as BackupTruncatedError).code).toBe(ErrorCodes.BACKUP_TRUNCATED);
    }
  });

  it('refuses malformed streams with BACKUP_CORRUPT', () => {
    const rng = new Rng(8);
    const base = generate(rng);
    while (base.pages.size < 3) Object.assign(base, generate(rng));
    const { stream, header } = base;
    const runAt = 40 + 2 * header.pageSize;
    const mutations: Array<[string, (s: Buffer) => Buffer]> = [
      ['an unknown first record', (s) => Buffer.concat([Buffer.from([9]), s])],
      ['an unknown stream version', (s) => (s.writeUInt8(2, 1), s)],
      ['a bad page size', (s) => (s.writeUInt32LE(3000, 4), s)],
      ['unknown flags', (s) => (s.writeUInt32LE(6, 32), s)],
      ['a base newer than the txn', (s) => (s.writeBigUInt64LE(BigInt(header.txnId + 1), 16), s)],
      ['an unknown record type', (s) => (s.writeUInt8(7, runAt), s)],
      ['a run below page 2', (s) => (s.writeBigUInt64LE(1n, runAt + 1), s)],
      [
        'a run past the last page',
        (s) => (s.writeBigUInt64LE(BigInt(header.lastPage), runAt + 1), s.writeUInt32LE(5, runAt + 9), s),
      ],
      ['an empty run', (s) => (s.writeUInt32LE(0, runAt + 9), s)],
      ['wrong END totals', (s) => (s.writeBigUInt64LE(999n, s.length - 8), s)],
      ['bytes after END', (s) => Buffer.concat([s, Buffer.from([0])])],
      ['a second BEGIN', (s) => Buffer.concat([s.subarray(0, runAt), s.subarray(0, runAt), s.subarray(runAt)])],
    ];
    for (const [what, mutate] of mutations) {
      const err = errorOf(() => decodeAll([mutate(Buffer.from(stream))]));
      expect(err, what).toBeInstanceOf(BackupCorruptError);
      expect((err as BackupCorruptError).code, what).toBe(ErrorCodes.BACKUP_CORRUPT);
    }
    // Runs out of order.
    const encoder = new PageRecordEncoder({ ...header, lastPage: 100 });
    const page5 = { runs: Float64Array.from([5, 1]), data: Buffer.alloc(header.pageSize) };
    expect(() => encoder.batch(page5)).toThrow(RangeError); // before begin()
    encoder.begin(Buffer.alloc(2 * header.pageSize));
    encoder.batch(page5);
    expect(() => encoder.batch(page5)).toThrow(RangeError); // not ascending
    expect(() => encoder.batch({ runs: Float64Array.from([6, 1]), data: Buffer.alloc(1) })).toThrow(RangeError);
  });

  it('hands back only chunks it no longer refers to: overwriting each released chunk changes nothing written', async () => {
    // A restore recycles each released chunk's memory for the next decompression. A chunk released while a
    // record cut by the chunk boundary still sat in the decoder would be overwritten before its pages were
    // written; scribbling over every released chunk at once makes that visible in the file.
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new Rng(seed);
      const g = generate(rng);
      const pieces = chunk(rng, g.stream);
      const released = new Set<Uint8Array>();
      const target = join(ctx.dir, `release-${seed}.mdb`);
      await applyPageRecords(toAsync(pieces), target, {
        mode: 'create',
        durable: false,
        release: (c) => {
          expect(released.has(c)).toBe(false);
          released.add(c);
          c.fill(0xee);
        },
      });
      const file = readFileSync(target);
      const { pageSize, lastPage } = g.header;
      expect(file.length).toBe((lastPage + 1) * pageSize);
      expect(file.subarray(0, 2 * pageSize).equals(g.metaPages)).toBe(true);
      for (let pgno = 2; pgno <= lastPage; pgno++) {
        const expected = g.pages.get(pgno) ?? Buffer.alloc(pageSize);
        expect(file.subarray(pgno * pageSize, (pgno + 1) * pageSize).equals(expected), `seed ${seed} page ${pgno}`).toBe(true);
      }
      // Once END is decoded nothing is held: every chunk was handed back.
      expect(released.size).toBe(pieces.length);
    }
  });

  it('restores a real snapshot and a delta through the stream', async () => {
    const root = ctx.open({ maxDbs: 10 });
    const specs: DbSpec[] = [{ name: null }, { name: 'a' }, { name: 'd', dupSort: true }];
    const a = rawDb(root, specs[1] as DbSpec);
    const d = rawDb(root, specs[2] as DbSpec);
    const rng = new Rng(1);
    await root.transaction(() => {
      for (let i = 0; i < 3000; i++) a.put(Buffer.from(`k${i}`), seededBytes(() => rng.next(), rng.int(1, 6000)));
      for (let i = 0; i < 2000; i++) d.put(Buffer.from('many'), Buffer.from(`v${i}`));
    });
    const target = join(ctx.dir, 'restored.mdb');
    const chunks = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      // Re-chunk into 1000-byte pieces, as a decompressor might.
      let pending = Buffer.alloc(0);
      for await (const part of source) {
        pending = Buffer.concat([pending, part]);
        while (pending.length >= 1000) {
          yield pending.subarray(0, 1000);
          pending = pending.subarray(1000);
        }
      }
      if (pending.length > 0) yield pending;
    };

    const full = await openPageSource(root, { maxBatchBytes: 50_000 });
    const fullDigest = digestDatabases(root, specs, full.transaction).digest;
    const restored = await applyPageRecords(chunks(encodePageRecords(full)), target);
    expect(restored.header).toMatchObject({ txnId: full.txnId, baseTxnId: 0, pageSize: full.pageSize });
    await withCopy(target, join(ctx.dir, 'open-full'), { readOnly: true, maxDbs: 10 }, (env) => {
      expect(lastTxnId(env)).toBe(full.txnId);
      expect(digestDatabases(env, specs).digest).toBe(fullDigest);
    });

    await root.transaction(() => {
      for (let i = 0; i < 100; i++) a.put(Buffer.from(`k${i * 7}`), seededBytes(() => rng.next(), rng.int(1, 6000)));
      d.remove(Buffer.from('many'), Buffer.from('v5'));
    });
    const delta = await openPageSource(root, { baseTxnId: full.txnId });
    const deltaDigest = digestDatabases(root, specs, delta.transaction).digest;
    const records: Buffer[] = [];
    for await (const part of encodePageRecords(delta)) records.push(part);
    // A truncated delta is refused and leaves the base intact.
    const whole = Buffer.concat(records);
    const truncated = chunks(toAsync([whole.subarray(0, whole.length - 3)]));
    await expect(applyPageRecords(truncated, target)).rejects.toBeInstanceOf(BackupTruncatedError);
    await withCopy(target, join(ctx.dir, 'open-base'), { readOnly: true, maxDbs: 10 }, (env) => {
      expect(lastTxnId(env)).toBe(full.txnId);
    });
    await applyPageRecords(chunks(toAsync([whole])), target);
    await withCopy(target, join(ctx.dir, 'open-delta'), { readOnly: true, maxDbs: 10 }, (env) => {
      expect(lastTxnId(env)).toBe(delta.txnId);
      expect(digestDatabases(env, specs).digest).toBe(deltaDigest);
    });
    // decodePageRecords is the same decoder as an async generator.
    const types: string[] = [];
    for await (const record of decodePageRecords(toAsync([whole]))) types.push(record.type);
    expect(types[0]).toBe('begin');
    expect(types[types.length - 1]).toBe('end');
  });
});

async function* toAsync(parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const part of parts) yield part;
}
