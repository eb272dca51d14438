/**
 * helpers: shared code for the backup file format tests: deterministic test data, writing
 * a backup to bytes or a file, reading bytes back through a BackupReader while recording
 * whether any output came before an error, and an independent parser of the frame layout
 * (written from the layout comment in src/format/writer.ts, not from the reader) so tests
 * can damage chosen fields.
 */
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBackupReader, type BackupReaderOptions } from '../../src/format/reader.js';
import { createBackupWriter, type BackupFileSummary, type BackupWriterOptions } from '../../src/format/writer.js';
import type { BackupHeaderInit } from '../../src/format/header.js';

/** INIT: a valid header for tests. */
export const INIT: BackupHeaderInit = {
  kind: 'full-snapshot',
  database: 'test-db',
  chainId: 'chain-1',
  sequence: 0,
  baseTxnId: null,
  snapshotTxnId: 42,
  pageSize: 4096,
  createdAt: new Date('2025-01-02T03:04:05.000Z'),
  meta: { tool: 'vitest' },
};

/** prng: xorshift32 bytes from `seed`, deterministic. */
function prngBytes(seed: number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * testData: `n` deterministic bytes that look like a database: runs of JSON-like text
 * (compressible) mixed with random runs (incompressible), so some chunks compress and some
 * may be stored.
 */
export function testData(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  const random = prngBytes(seed, Math.min(n, 1 << 20) + 1);
  let at = 0;
  let i = 0;
  while (at < n) {
    const text = Buffer.from(`{"id":"users/${i}-A","name":"User ${i % 97}","email":"u${i}@example.com","tags":["a","b"],"n":${(i * 7919) % 100003}}\n`);
    const piece = i % 5 === 4 ? random.subarray((i * 131) % Math.max(1, random.length - 300), ((i * 131) % Math.max(1, random.length - 300)) + 257) : text;
    const k = Math.min(piece.length, n - at);
    piece.copy(out, at, 0, k);
    at += k;
    i++;
  }
  return out;
}

/** randomData: `n` incompressible deterministic bytes. */
export function randomData(n: number, seed = 7): Buffer {
  return prngBytes(seed, n);
}

/** sliced: `data` as a Readable of `size`-byte pieces (exercises chunk boundaries). */
export function sliced(data: Buffer, size: number): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) pieces.push(data.subarray(at, at + size));
  return Readable.from(pieces, { objectMode: false });
}

/** collect: a Writable that keeps everything written to it. */
export function collect(): { sink: Writable; bytes: () => Buffer; count: () => number } {
  const parts: Buffer[] = [];
  let n = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      n += chunk.length;
      callback();
    },
  });
  return { sink, bytes: () => Buffer.concat(parts), count: () => n };
}

/** writeBackupBytes: `data` written through a BackupWriter; the file bytes and the writer's summary. */
export async function writeBackupBytes(data: Buffer, options: BackupWriterOptions, init: BackupHeaderInit = INIT, pieceSize = 10_007): Promise<{ file: Buffer; summary: BackupFileSummary }> {
  const writer = createBackupWriter(init, options);
  const out = collect();
  await pipeline(sliced(data, pieceSize), writer, out.sink);
  return { file: out.bytes(), summary: await writer.done };
}

/** ReadOutcome: what reading a file produced: the plaintext so far, and the error if any. */
export interface ReadOutcome {
  data: Buffer;
  error: (Error & { code?: string }) | null;
  summary: BackupFileSummary | null;
}

/** readBackupBytes: `file` read through a BackupReader in `pieceSize` pieces; never throws. */
export async function readBackupBytes(file: Buffer, options: BackupReaderOptions = {}, pieceSize = 4_099): Promise<ReadOutcome> {
  const reader = createBackupReader(options);
  const out = collect();
  try {
    await pipeline(sliced(file, pieceSize), reader, out.sink);
    return { data: out.bytes(), error: null, summary: await reader.done };
  } catch (err) {
    return { data: out.bytes(), error: err as Error & { code?: string }, summary: null };
  }
}

/** sha256: hex digest. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** FrameLayout: where one frame's fields are in a file. */
export interface FrameLayout {
  start: number;
  payloadStart: number;
  payloadLength: number;
  flags: number;
  checkStart: number;
  end: number;
}

/** FileLayout: where a file's fields are. */
export interface FileLayout {
  headerStart: number;
  headerLength: number;
  hashStart: number;
  framesStart: number;
  frames: FrameLayout[];
}

/** parseLayout: an independent walk over `file` following the documented layout; `checkLength` is 8 (unencrypted) or 16 (encrypted). */
export function parseLayout(file: Buffer, checkLength: number): FileLayout {
  const headerLength = file.readUInt32BE(10);
  const headerStart = 18;
  const hashStart = headerStart + headerLength;
  const framesStart = hashStart + 32;
  const frames: FrameLayout[] = [];
  let at = framesStart;
  while (at < file.length) {
    const payloadLength = file.readUInt32BE(at);
    const flags = file.readUInt8(at + 4);
    const payloadStart = at + 9;
    const checkStart = payloadStart + payloadLength;
    const end = checkStart + checkLength;
    frames.push({ start: at, payloadStart, payloadLength, flags, checkStart, end });
    at = end;
  }
  if (at !== file.length) throw new Error('layout walk overran the file');
  return { headerStart, headerLength, hashStart, framesStart, frames };
}

/** flip: a copy of `file` with the byte at `offset` XOR 0x5a. */
export function flip(file: Buffer, offset: number): Buffer {
  const copy = Buffer.from(file);
  copy[offset] ^= 0x5a;
  return copy;
}
