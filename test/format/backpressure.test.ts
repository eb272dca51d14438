/**
 * Memory stays bounded when the consumer is slow or absent: the writer (and the reader)
 * stop pulling input once their readable side is full. The assertions are upper bounds
 * that hold whatever the scheduling; waiting for the pipeline to go quiet only decides
 * when to look, so a slow machine can make a test look earlier, never fail it.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { createBackupReader } from '../../src/format/reader.js';
import { createBackupWriter, type BackupWriter } from '../../src/format/writer.js';
import { closeCodecPool, codecPool } from '../../src/transforms/codec-pool.js';
import type { CompressionName } from '../../src/transforms/compress.js';
import { collect, INIT, randomData, readBackupBytes, writeBackupBytes } from './helpers.js';

const CHUNK = 64 * 1024;
const PIECE = 16 * 1024;

afterAll(async () => {
  await closeCodecPool();
});

/** counting: a Readable of `total` bytes in PIECE-sized pushes that records how much was pulled. */
function counting(total: number): { source: Readable; pulled: () => number; data: Buffer } {
  const data = randomData(total, 11);
  let at = 0;
  const source = new Readable({
    highWaterMark: PIECE,
    read() {
      if (at >= total) {
        this.push(null);
        return;
      }
      this.push(data.subarray(at, at + PIECE));
      at += PIECE;
    },
  });
  return { source, pulled: () => at, data };
}

/** quiet: resolves once `value()` has not changed across several turns of the event loop and timers (or reached `cap`). */
async function quiet(value: () => number, cap: number): Promise<void> {
  let last = -1;
  let stable = 0;
  while (stable < 8 && value() < cap) {
    await new Promise((resolve) => setTimeout(resolve, 15));
    if (value() === last) stable++;
    else {
      stable = 0;
      last = value();
    }
  }
}

describe('backpressure', () => {
  for (const compression of ['none', 'zstd'] as CompressionName[]) {
    it(`writer (${compression}): with nobody reading, it stops pulling input and its buffers stay bounded`, async () => {
      const total = 64 * 1024 * 1024;
      const { source, pulled, data } = counting(total);
      const writer = createBackupWriter(INIT, { compression, chunkSize: CHUNK });
      source.pipe(writer);
      await quiet(pulled, total);

      const inFlight = compression === 'none' ? 1 : codecPool().size + 1;
      // Source buffer + writer's writable buffer + the chunk being filled + chunks in
      // flight + what was pushed to the readable side before it reported full.
      const bound = 2 * PIECE + 16 * 1024 + (2 * inFlight + 2) * (CHUNK + 64) + 16 * 1024;
      expect(pulled()).toBeLessThan(total);
      expect(pulled()).toBeLessThanOrEqual(bound);
      expect(writer.readableLength).toBeLessThanOrEqual((inFlight + 1) * (CHUNK + 64) + 16 * 1024);
      expect(writer.writableNeedDrain || writer.writableLength > 0 || source.isPaused()).toBe(true);

      // Reading resumes the flow and the file is complete and correct.
      const out = collect();
      await pipeline(writer, out.sink);
      const summary = await writer.done;
      expect(summary.plaintextBytes).toBe(total);
      const back = await readBackupBytes(out.bytes(), {}, 256 * 1024);
      expect(back.error).toBeNull();
      expect(back.data.equals(data)).toBe(true);
    });
  }

  it('writer: with a slow consumer, input pulled never runs more than a bounded amount ahead of output consumed', async () => {
    const total = 16 * 1024 * 1024;
    const { source, pulled } = counting(total);
    const writer = createBackupWriter(INIT, { compression: 'zstd', chunkSize: CHUNK });
    const inFlight = codecPool().size + 1;
    const bound = 2 * PIECE + 16 * 1024 + (2 * inFlight + 4) * (CHUNK + 64) + 16 * 1024;
    let consumed = 0;
    let worst = 0;
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback) {
        consumed += chunk.length;
        worst = Math.max(worst, pulled() - consumed);
        // A few turns of the event loop per chunk: slower than the producer.
        let turns = 4;
        const next = (): void => {
          if (--turns === 0) callback();
          else setImmediate(next);
        };
        setImmediate(next);
      },
    });
    await pipeline(source, writer, slow);
    expect(pulled()).toBe(total);
    // Random data is stored, so output bytes ≈ input bytes and the lag is comparable.
    expect(worst).toBeLessThanOrEqual(bound);
  });

  it('reader: with nobody reading its output, it stops pulling file bytes', async () => {
    const plain = randomData(32 * 1024 * 1024, 5);
    const { file } = await writeBackupBytes(plain, { compression: 'zstd', chunkSize: CHUNK }, INIT, 1024 * 1024);
    let at = 0;
    const source = new Readable({
      highWaterMark: PIECE,
      read() {
        if (at >= file.length) {
          this.push(null);
          return;
        }
        this.push(file.subarray(at, at + PIECE));
        at += PIECE;
      },
    });
    const reader = createBackupReader();
    source.pipe(reader);
    await quiet(() => at, file.length);
    const inFlight = codecPool().size + 1;
    expect(at).toBeLessThan(file.length);
    expect(at).toBeLessThanOrEqual(2 * PIECE + 16 * 1024 + (2 * inFlight + 3) * (CHUNK + 64));
    const out = collect();
    await pipeline(reader, out.sink);
    expect(out.bytes().equals(plain)).toBe(true);
  });

  it('reader: each read yields one whole verified chunk, however much is buffered', async () => {
    const plain = randomData(10 * CHUNK + 123, 9);
    const { file } = await writeBackupBytes(plain, { compression: 'zstd', chunkSize: CHUNK }, INIT, 1024 * 1024);
    const reader = createBackupReader({ readAheadChunks: 4 });
    const flowing = pipeline(Readable.from([file]), reader);
    // Let it fill its read-ahead before anything is read: a byte-mode stream would glue the buffered chunks.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const part of reader as AsyncIterable<Buffer>) {
      sizes.push(part.length);
      parts.push(part);
    }
    await flowing;
    expect(sizes).toEqual([...Array.from({ length: 10 }, () => CHUNK), 123]);
    expect(Buffer.concat(parts).equals(plain)).toBe(true);
    expect(() => createBackupReader({ readAheadChunks: 0 })).toThrow(/readAheadChunks/);
  });

  it('destroying a writer or reader midway rejects `done` (and `header`) instead of leaving them pending', async () => {
    const writer: BackupWriter = createBackupWriter(INIT, { chunkSize: CHUNK });
    writer.write(randomData(3 * CHUNK));
    writer.destroy();
    await expect(writer.done).rejects.toMatchObject({ code: ErrorCodes.ABORTED });

    const reader = createBackupReader();
    const errored = new Promise((resolve) => reader.on('error', resolve));
    reader.write(Buffer.from('PGVAULT\x01'));
    reader.destroy(new Error('boom'));
    await expect(reader.header).rejects.toThrow('boom');
    await expect(reader.done).rejects.toThrow('boom');
    await errored;
  });
});
