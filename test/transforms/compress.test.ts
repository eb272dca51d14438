import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { closeCodecPool, CodecDataError, CodecPool, codecPool } from '../../src/transforms/codec-pool.js';
import { compressChunk, compressionCodecs, decompressChunk, resolveCompression } from '../../src/transforms/compress.js';
import { ChunkAead, cipherSuites } from '../../src/transforms/encrypt.js';
import { Registry } from '../../src/transforms/registry.js';
import { randomData, testData } from '../format/helpers.js';

afterAll(async () => {
  await closeCodecPool();
});

describe('registries', () => {
  it('codecs and ciphers are registered by name and stable header id', () => {
    expect(['none', 'zstd', 'gzip'].map((n) => compressionCodecs.byName(n)?.id)).toEqual([0, 1, 2]);
    expect(compressionCodecs.byId(1)?.name).toBe('zstd');
    expect(['none', 'aes-256-gcm'].map((n) => cipherSuites.byName(n)?.id)).toEqual([0, 1]);
    expect(compressionCodecs.byId(99)).toBeUndefined();
  });

  it('a duplicate id or name throws at registration', () => {
    const registry = new Registry<{ id: number; name: string }>('test');
    registry.register({ id: 1, name: 'a' });
    expect(() => registry.register({ id: 1, name: 'b' })).toThrow(/id 1 registered twice/);
    expect(() => registry.register({ id: 2, name: 'a' })).toThrow(/a registered twice/);
    expect(() => registry.register({ id: 256, name: 'c' })).toThrow(/not an integer in \[0, 255\]/);
    expect(() => compressionCodecs.register({ ...compressionCodecs.byName('zstd')!, name: 'zstd2' as never })).toThrow(/registered twice/);
  });

  it('resolveCompression: defaults zstd 3 and gzip 6; bad names and levels are INVALID_ARGUMENT', () => {
    expect(resolveCompression('zstd').level).toBe(3);
    expect(resolveCompression('gzip').level).toBe(6);
    expect(resolveCompression('none').level).toBe(0);
    expect(() => resolveCompression('brotli')).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => resolveCompression('zstd', 0)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => resolveCompression('zstd', 2.5)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => resolveCompression('gzip', 10)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });
});

describe('compression in the codec pool', () => {
  it('zstd and gzip round-trip at several levels, and compress realistic data', async () => {
    const input = testData(1024 * 1024, 3);
    for (const [name, levels] of [['zstd', [1, 3, 9, 19]], ['gzip', [1, 6, 9]]] as const) {
      for (const level of levels) {
        const codec = compressionCodecs.byName(name)!;
        const { output } = await compressChunk(codec, level, input);
        expect(output.length).toBeLessThan(input.length * 0.8);
        const back = await decompressChunk(codec, output, input.length);
        expect(back.output.equals(input)).toBe(true);
      }
    }
  });

  it('many concurrent jobs each get their own result, and transferred inputs come back intact', async () => {
    const codec = compressionCodecs.byName('zstd')!;
    const inputs = Array.from({ length: 24 }, (_, i) => testData(64 * 1024 + i * 1000, i + 1));
    const expected = inputs.map((b) => Buffer.from(b));
    const jobs = inputs.map((input, i) => {
      // Even inputs own their ArrayBuffer (transferred and handed back); odd ones are views (copied).
      const own = i % 2 === 0 ? Buffer.alloc(input.length) : Buffer.alloc(input.length + 10).subarray(5, 5 + input.length);
      input.copy(own);
      return compressChunk(codec, 3, own, { transfer: true });
    });
    const results = await Promise.all(jobs);
    const back = await Promise.all(results.map((r, i) => decompressChunk(codec, r.output, expected[i].length)));
    back.forEach((b, i) => expect(b.output.equals(expected[i])).toBe(true));
    for (const [i, r] of results.entries()) {
      if (i % 2 === 0) expect(r.input?.equals(expected[i])).toBe(true);
      else expect(r.input).toBeNull();
    }
  });

  it('refuses to decompress more than maxOutput (bombs) and malformed input, with CodecDataError', async () => {
    const zstd = compressionCodecs.byName('zstd')!;
    const gzip = compressionCodecs.byName('gzip')!;
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    const z = (await compressChunk(zstd, 3, zeros)).output;
    await expect(decompressChunk(zstd, z, 64 * 1024)).rejects.toBeInstanceOf(CodecDataError);
    await expect(decompressChunk(gzip, gzipSync(zeros), 64 * 1024)).rejects.toBeInstanceOf(CodecDataError);
    await expect(decompressChunk(zstd, randomData(1000), 1 << 20)).rejects.toBeInstanceOf(CodecDataError);
    await expect(decompressChunk(zstd, Buffer.concat([z, Buffer.from([1, 2, 3])]), zeros.length)).rejects.toBeInstanceOf(CodecDataError);
    await expect(decompressChunk(gzip, randomData(1000), 1 << 20)).rejects.toBeInstanceOf(CodecDataError);
    // The pool still works afterwards.
    const ok = await decompressChunk(zstd, z, zeros.length);
    expect(ok.output.length).toBe(zeros.length);
  });

  it('shared outputs: recycled memory is decompressed into, and each output is exactly its own bytes', async () => {
    const pool = new CodecPool(1);
    try {
      const zstd = compressionCodecs.byName('zstd')!;
      const gzip = compressionCodecs.byName('gzip')!;
      const maxOutput = 256 * 1024;
      const plains = Array.from({ length: 6 }, (_, i) => testData(maxOutput - i * 1000, i + 7));
      const compressed = await Promise.all(plains.map((p) => compressChunk(zstd, 3, p)));
      const decompress = (i: number) =>
        pool.run({ op: 'decompress', codec: zstd.id, level: 0, maxOutput, input: compressed[i].output, transfer: false, sharedOutput: true });
      const first = await decompress(0);
      expect(first.output.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(first.output.equals(plains[0])).toBe(true);
      // Hand the first output back, scribbled over: the next output lands in the same memory, with its own length.
      const memory = first.output.buffer;
      first.output.fill(0xee);
      pool.recycle(first.output);
      const second = await decompress(1);
      expect(second.output.buffer).toBe(memory);
      expect(second.output.length).toBe(plains[1].length);
      expect(second.output.equals(plains[1])).toBe(true);
      // Views that do not start their buffer, ordinary ArrayBuffers and memory too small for the job are never used.
      pool.recycle(second.output.subarray(10));
      pool.recycle(new Uint8Array(maxOutput));
      pool.recycle(new Uint8Array(new SharedArrayBuffer(maxOutput / 2)));
      const third = await decompress(2);
      expect(third.output.buffer).not.toBe(memory);
      expect(third.output.equals(plains[2])).toBe(true);
      // A codec that cannot decompress in place (gzip) still delivers into shared memory.
      const gz = await compressChunk(gzip, 6, plains[3]);
      const viaGzip = await pool.run({ op: 'decompress', codec: gzip.id, level: 0, maxOutput, input: gz.output, transfer: false, sharedOutput: true });
      expect(viaGzip.output.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(viaGzip.output.equals(plains[3])).toBe(true);
      // Without sharedOutput the output is an ordinary buffer of its own.
      const plain = await pool.run({ op: 'decompress', codec: zstd.id, level: 0, maxOutput, input: compressed[4].output, transfer: false });
      expect(plain.output.buffer).toBeInstanceOf(ArrayBuffer);
      expect(plain.output.equals(plains[4])).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('opens sealed inputs in the worker, and reports a bad tag as an authentication failure', async () => {
    const zstd = compressionCodecs.byName('zstd')!;
    const aead = new ChunkAead(Buffer.alloc(32, 3), Buffer.alloc(8, 4), Buffer.alloc(32, 5));
    const plain = testData(100_000, 3);
    const { output } = await compressChunk(zstd, 3, plain);
    const sealed = aead.seal(7, 0, output);
    const opened = await decompressChunk(zstd, sealed.ciphertext, 1 << 20, { open: aead.params(7, 0, sealed.tag) });
    expect(opened.output.equals(plain)).toBe(true);
    // The wrong index (a reordered chunk) or a flipped bit fails authentication, not decompression.
    await expect(decompressChunk(zstd, sealed.ciphertext, 1 << 20, { open: aead.params(8, 0, sealed.tag) })).rejects.toMatchObject({ reason: 'auth' });
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[10] ^= 1;
    await expect(decompressChunk(zstd, flipped, 1 << 20, { open: aead.params(7, 0, sealed.tag) })).rejects.toMatchObject({ reason: 'auth' });
    // Authentic but not zstd: a decompression failure.
    const junk = aead.seal(9, 0, randomData(1000));
    await expect(decompressChunk(zstd, junk.ciphertext, 1 << 20, { open: aead.params(9, 0, junk.tag) })).rejects.toMatchObject({ reason: 'data' });
  });

  it('a closed pool rejects new jobs; the shared pool is recreated on demand', async () => {
    const pool = new CodecPool(1);
    const codec = compressionCodecs.byName('gzip')!;
    const input = testData(10_000);
    const { output } = await pool.run({ op: 'compress', codec: codec.id, level: 6, maxOutput: 0, input, transfer: false });
    expect(output.length).toBeGreaterThan(0);
    await pool.close();
    await expect(pool.run({ op: 'compress', codec: codec.id, level: 6, maxOutput: 0, input, transfer: false })).rejects.toThrow(/closed/);
    await closeCodecPool();
    expect(codecPool().size).toBeGreaterThanOrEqual(1);
  });
});
