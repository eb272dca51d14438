/**
 * compress: the compression codecs of the backup file format (none, zstd, gzip), their
 * registry by name and header id, and the calls that run them off the JS thread.
 *
 * Why a worker pool and not zstd-napi's own multithreading (`nbWorkers`): every zstd-napi
 * call is synchronous (`Compressor.compress` → `ZSTD_compress2` on the calling thread; its
 * sources have no AsyncWorker), and with `nbWorkers` the JS thread still blocks until the
 * zstd threads are done. Measured on this machine (2 cores, 4 MiB chunks of a generated
 * 200k-document `data.mdb`, level 3): single-threaded 240 MB/s with the JS thread blocked
 * 17 ms per chunk (66 ms at level 9); `nbWorkers: 2` gains nothing at the default job size
 * (a 4 MiB input is one zstd job) and 290–340 MB/s with `jobSize` forced to 1–2 MiB, at a
 * worse ratio (3.48–3.53 vs 3.56) and still 12–14 ms blocked per chunk; streamed end to end
 * that inline variant did 250–260 MB/s with an event-loop delay p99 of 23 ms, because the
 * blocked thread cannot overlap I/O. This pool of `availableParallelism()` worker threads,
 * each compressing whole independent chunks with a single-threaded context, did 409 MB/s
 * at level 3 (704 at level 1, 90 at level 9) with the single-threaded ratio, and the whole
 * writer (zstd 3 + AES-GCM + hashing + file I/O) 320–370 MB/s with an event-loop delay p99
 * of 6.6 ms: the JS thread only posts and receives transferred buffers. The same pool
 * serves decompression and gzip; order is restored by the callers, which keep their
 * chunks in a FIFO (see `codec-pool.ts`).
 *
 * Codecs are registered by name and numeric header id (STYLE habit 11); a duplicate id or
 * name throws when this module loads. Header ids are part of the file format: never reuse.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
// binding.js assigns module.exports from the native addon, so Node's ESM loader sees only a default export.
import zstd from 'zstd-napi/binding.js';
import { InvalidArgumentError } from '../errors.js';
import { codecPool, type CodecResult } from './codec-pool.js';
import type { OpenParams } from './encrypt.js';
import { Registry, type RegistryEntry } from './registry.js';

/** CompressionName: the compression algorithms this pagevault writes. */
export type CompressionName = 'none' | 'zstd' | 'gzip';

/**
 * CompressionCodec: one algorithm. `compressSync`/`decompressSync` are synchronous and are
 * meant to run in a pool worker (`codec-worker.ts`); they return buffers that own their
 * whole ArrayBuffer, so the worker can transfer them without copying.
 */
export interface CompressionCodec extends RegistryEntry {
  readonly name: CompressionName;
  readonly defaultLevel: number;
  readonly minLevel: number;
  readonly maxLevel: number;
  /** compressSync: `input` compressed at `level` (already validated). */
  compressSync(input: Uint8Array, level: number): Uint8Array;
  /**
   * decompressSync: the bytes `input` decompresses to; throws if `input` is malformed or
   * would decompress to more than `maxOutput` bytes (a decompression bomb). With `into`
   * (a spare buffer of at least `maxOutput` bytes) a codec may decompress into its start
   * and return that view instead of allocating.
   */
  decompressSync(input: Uint8Array, maxOutput: number, into?: Uint8Array): Uint8Array;
}

/** compressionCodecs: every codec by name and header id. */
export const compressionCodecs = new Registry<CompressionCodec>('compression');

function owned(view: Uint8Array): Uint8Array {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer) return view;
  const copy = new Uint8Array(view.byteLength);
  copy.set(view);
  return copy;
}

compressionCodecs.register({
  id: 0,
  name: 'none',
  defaultLevel: 0,
  minLevel: 0,
  maxLevel: 0,
  compressSync: (input) => owned(input),
  decompressSync: (input, maxOutput) => {
    if (input.byteLength > maxOutput) throw new Error(`stored chunk of ${input.byteLength} bytes exceeds ${maxOutput}`);
    return owned(input);
  },
});

// One context per thread: contexts hold ~1–2 MB of tables that are reused between calls.
let cctx: zstd.CCtx | undefined;
let dctx: zstd.DCtx | undefined;
let scratch: Buffer | undefined;

compressionCodecs.register({
  id: 1,
  name: 'zstd',
  defaultLevel: 3,
  minLevel: 1,
  maxLevel: 19,
  compressSync(input, level) {
    cctx ??= new zstd.CCtx();
    const bound = zstd.compressBound(input.byteLength);
    if (!scratch || scratch.length < bound) scratch = Buffer.allocUnsafeSlow(bound);
    // ZSTD_compressCCtx: single-threaded, writes the content size into the frame header.
    const length = cctx.compress(scratch, input, level);
    const out = new Uint8Array(length);
    out.set(scratch.subarray(0, length));
    return out;
  },
  decompressSync(input, maxOutput, into) {
    const size = zstd.getFrameContentSize(input);
    if (size === null) throw new Error('zstd frame without a content size');
    if (size > maxOutput) throw new Error(`zstd frame declares ${size} bytes, more than ${maxOutput}`);
    if (zstd.findFrameCompressedSize(input) !== input.byteLength) throw new Error('bytes after the zstd frame');
    dctx ??= new zstd.DCtx();
    // A spare buffer's pages are already mapped: no page faults and no zeroing, unlike a fresh 4 MiB one.
    const out = into !== undefined && into.byteLength >= size ? into.subarray(0, size) : new Uint8Array(size);
    const written = dctx.decompress(out, input);
    if (written !== size) throw new Error(`zstd frame decompressed to ${written} bytes, declared ${size}`);
    return out;
  },
});

compressionCodecs.register({
  id: 2,
  name: 'gzip',
  defaultLevel: 6,
  minLevel: 1,
  maxLevel: 9,
  compressSync: (input, level) => owned(gzipSync(input, { level })),
  // maxOutputLength makes zlib stop with a RangeError instead of allocating without bound.
  decompressSync: (input, maxOutput) => owned(gunzipSync(input, { maxOutputLength: Math.max(1, maxOutput) })),
});

/** ResolvedCompression: a codec and a validated level. */
export interface ResolvedCompression {
  codec: CompressionCodec;
  level: number;
}

/**
 * resolveCompression: the codec called `name` and `level` (its default when omitted).
 * Throws InvalidArgumentError for an unknown name or a level out of the codec's range.
 */
export function resolveCompression(name: string, level?: number): ResolvedCompression {
  const codec = compressionCodecs.byName(name);
  if (!codec) {
    throw new InvalidArgumentError(`Expected one of ${compressionCodecs.names().join(', ')} for compression but received ${JSON.stringify(name)}`);
  }
  const chosen = level ?? codec.defaultLevel;
  if (!Number.isInteger(chosen) || chosen < codec.minLevel || chosen > codec.maxLevel) {
    throw new InvalidArgumentError(`Expected an integer in [${codec.minLevel}, ${codec.maxLevel}] for ${codec.name} level but received ${String(level)}`);
  }
  return { codec, level: chosen };
}

/**
 * compressChunk: `input` compressed with `codec` at `level` in a pool worker. The JS
 * thread only posts the buffer. With `transfer: true` the caller hands `input` over (its
 * ArrayBuffer is detached) and gets it back as `result.input` for reuse; otherwise
 * `input` is copied. Codec `none` returns `input` itself without a worker round trip.
 * Results may complete out of order across calls; callers that need order keep a FIFO.
 */
export function compressChunk(codec: CompressionCodec, level: number, input: Uint8Array, options: { transfer?: boolean } = {}): Promise<CodecResult> {
  if (codec.id === 0) return Promise.resolve({ output: Buffer.from(input.buffer, input.byteOffset, input.byteLength), input: null });
  return codecPool().run({ op: 'compress', codec: codec.id, level, maxOutput: 0, input, transfer: options.transfer === true });
}

/**
 * decompressChunk: `input` decompressed with `codec` in a pool worker, at most
 * `maxOutput` bytes. Rejects with a plain Error (message from the codec) when `input` is
 * malformed or too large; the format reader turns that into a BackupCorruptError.
 * `transfer` as for compressChunk. With `open`, `input` is a sealed chunk that the worker
 * opens (authenticates and decrypts) first; a failed tag rejects with a CodecDataError of
 * reason 'auth'. With `sharedOutput`, the output lies in pool-owned shared memory (see
 * `CodecPool.recycle`).
 */
export function decompressChunk(
  codec: CompressionCodec,
  input: Uint8Array,
  maxOutput: number,
  options: { transfer?: boolean; open?: OpenParams; sharedOutput?: boolean } = {},
): Promise<CodecResult> {
  if (codec.id === 0 && options.open === undefined) {
    if (input.byteLength > maxOutput) return Promise.reject(new Error(`stored chunk of ${input.byteLength} bytes exceeds ${maxOutput}`));
    return Promise.resolve({ output: Buffer.from(input.buffer, input.byteOffset, input.byteLength), input: null });
  }
  return codecPool().run({
    op: 'decompress',
    codec: codec.id,
    level: 0,
    maxOutput,
    input,
    transfer: options.transfer === true,
    ...(options.open === undefined ? {} : { open: options.open }),
    ...(options.sharedOutput === true ? { sharedOutput: true } : {}),
  });
}
