/**
 * writer: `createBackupWriter`, the Transform that turns plaintext (pages or a JSON
 * export) into a pagevault backup file.
 *
 * ## File layout, format version 1
 *
 * All integers are unsigned big-endian. A file is a prefix, a JSON header, its hash, zero
 * or more data frames and exactly one trailer frame, then nothing.
 *
 * ```
 * offset      size  field
 * 0           8     magic "PGVAULT\x01" (50 47 56 41 55 4C 54 01)
 * 8           2     format version = 1
 * 10          4     H = JSON header length in bytes (2 ≤ H ≤ 1 MiB)
 * 14          4     prefix check = xxHash32(bytes 0..13, seed 0)
 * 18          H     header: one UTF-8 JSON object (fields below)
 * 18+H        32    header hash = SHA-256(bytes 0 .. 18+H-1)
 * 50+H        …     frames
 * ```
 *
 * Header fields: `kind` ('full-snapshot' | 'incremental-snapshot' | 'full-backup' |
 * 'incremental-backup'), `database` (identity string), `chainId`, `sequence` (0 for a
 * full, then 1, 2, …), `baseTxnId` (null for a full), `snapshotTxnId`, `pageSize` (null for
 * JSON backups), `createdAt` (ISO 8601 UTC), `fileId` (16 random bytes, hex: makes every
 * header hash unique), `chunkSize` (plaintext bytes per chunk), `compression`
 * `{id, name, level}` (0 none, 1 zstd, 2 gzip), `cipher` `{id: 0, name: 'none'}` or
 * `{id: 1, name: 'aes-256-gcm', keyId, salt, noncePrefix, kdf}` (keyId: 16 bytes hex;
 * salt: 32 bytes base64; noncePrefix: 8 bytes base64; kdf: null for a key file, or
 * `{name: 'scrypt', N, r, p, salt}` for a passphrase), `meta` (free-form object). Readers
 * ignore fields they do not know.
 *
 * Frame i (data frames are numbered 0, 1, …; the trailer's index is the data frame count):
 *
 * ```
 * size  field
 * 4     L = payload length
 * 1     flags: bit 0 FINAL (this is the trailer), bit 1 STORED (payload not compressed);
 *       other bits 0; FINAL and STORED never together
 * 4     head check = xxHash32(i ‖ L ‖ flags as u32, u32, u8; seed = header hash bytes 0..3)
 * L     payload
 * C     payload check: unencrypted (C = 8): xxHash64(payload, seed = header hash bytes
 *       8..15 XOR i); encrypted (C = 16): the AES-256-GCM tag
 * ```
 *
 * A data frame's plaintext is one chunk: exactly `chunkSize` bytes except the last data
 * chunk (1 … chunkSize bytes); an empty input has no data frames. Each chunk is compressed
 * on its own (STORED when compression does not make it smaller, so 1 ≤ L ≤ chunkSize),
 * then, in an encrypted file, encrypted on its own: file key = HKDF-SHA256(master key,
 * salt, "pagevault file key"), nonce = noncePrefix ‖ i (u32), associated data = header
 * hash ‖ i (u32) ‖ flags (u8) (see transforms/encrypt.ts).
 *
 * The trailer frame has flags = FINAL and a 56-byte plaintext, sealed like a data frame
 * (encrypted and tagged, or checksummed):
 *
 * ```
 * 0   8   number of data frames
 * 8   8   plaintext bytes (sum of chunk sizes)
 * 16  8   compressed bytes (sum of data frame payload lengths)
 * 24  32  SHA-256 of every file byte before the trailer frame
 * ```
 *
 * What catches what: a damaged byte fails the prefix check, the header hash, a head
 * check, or a payload check/tag; a moved, duplicated, dropped or foreign frame fails its
 * head check (the index and file are bound into it) and, when encrypted, its tag; a file
 * cut short ends before a FINAL frame (BackupTruncatedError); bytes after the trailer are
 * refused; a wrong key is refused from the key id before any frame is read. The unkeyed
 * checks name the problem precisely; only the GCM tags resist a deliberate forger.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AbortedError, InvalidArgumentError } from '../errors.js';
import { keyMaterial, LoadedKey } from '../keys/keys.js';
import { xxhash } from '../transforms/checksum.js';
import { codecPool } from '../transforms/codec-pool.js';
import { compressChunk, resolveCompression, type CompressionName, type ResolvedCompression } from '../transforms/compress.js';
import { ChunkAead, cipherSuites, deriveFileKey, MAX_CHUNKS, newFileCipherParams, type FileCipherParams } from '../transforms/encrypt.js';
import { checkHeaderInit, serializeHeader, type BackupHeader, type BackupHeaderInit, type CipherInfo } from './header.js';
import {
  DEFAULT_CHUNK_SIZE,
  encodeFrameHead,
  encodePrefix,
  encodeTrailer,
  FLAG_FINAL,
  FLAG_STORED,
  FORMAT_VERSION,
  frameSeeds,
  headerHash,
  MAX_CHUNK_SIZE,
  MAX_HEADER_LENGTH,
  MIN_CHUNK_SIZE,
  payloadChecksum,
  type FrameSeeds,
} from './layout.js';

/** BackupWriterOptions: how `createBackupWriter` compresses, encrypts and cuts chunks. */
export interface BackupWriterOptions {
  /** Compression of every chunk; default 'zstd'. */
  compression?: CompressionName;
  /** Codec level; default zstd 3, gzip 6 (zstd 1–19, gzip 1–9). */
  level?: number;
  /** Encrypt with AES-256-GCM under this key; omitted: unencrypted, xxHash64-checked frames. */
  key?: LoadedKey;
  /** Plaintext bytes per chunk, 4 KiB – 64 MiB; default 4 MiB. */
  chunkSize?: number;
  /** highWaterMark of both stream sides in bytes; default Node's (16 KiB). */
  highWaterMark?: number;
}

/** BackupFileSummary: what a finished backup file holds (writer) or held (reader, verifier). */
export interface BackupFileSummary {
  header: BackupHeader;
  /** SHA-256 of the prefix and JSON header, hex (the value bound into every frame). */
  headerHash: string;
  /** Total file length in bytes. */
  bytes: number;
  /** SHA-256 of the whole file, hex. */
  sha256: string;
  /** Number of data frames (chunks). */
  chunks: number;
  plaintextBytes: number;
  /** Sum of data frame payload lengths (compressed, before the per-frame overhead). */
  compressedBytes: number;
}

interface Prepared {
  index: number;
  stored: boolean;
  payload: Buffer;
  /** A chunk buffer the writer may fill again once the payload is consumed, or null. */
  recycle: Buffer | null;
  /** The payload is `recycle` itself: it can only be recycled after sealing copied it. */
  payloadIsChunk: boolean;
}

interface QueueItem {
  promise: Promise<Prepared>;
  done: boolean;
}

const noop = (): void => {};

interface WriterPlan {
  header: BackupHeader;
  json: Buffer;
  compression: ResolvedCompression;
  masterKey: Buffer | null;
  fileParams: FileCipherParams | null;
  highWaterMark: number | undefined;
}

/** planWriter: validates the arguments of createBackupWriter (InvalidArgumentError) and builds the header. */
function planWriter(init: BackupHeaderInit, options: BackupWriterOptions): WriterPlan {
  checkHeaderInit(init);
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('Expected an options object for createBackupWriter');
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new InvalidArgumentError(`Expected an integer in [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}] for chunkSize but received ${String(options.chunkSize)}`);
  }
  const key = options.key;
  if (key !== undefined && !(key instanceof LoadedKey)) throw new InvalidArgumentError('Expected a LoadedKey (from loadKey) for key');
  const hwm = options.highWaterMark;
  if (hwm !== undefined && (!Number.isInteger(hwm) || hwm < 1)) throw new InvalidArgumentError(`Expected a positive integer for highWaterMark but received ${String(hwm)}`);
  const compression = resolveCompression(options.compression ?? 'zstd', options.level);

  let cipher: CipherInfo = { id: 0, name: 'none' };
  let fileParams: FileCipherParams | null = null;
  if (key) {
    const suite = cipherSuites.byName('aes-256-gcm')!;
    fileParams = newFileCipherParams();
    cipher = { id: suite.id, name: suite.name, keyId: key.id, salt: fileParams.salt.toString('base64'), noncePrefix: fileParams.noncePrefix.toString('base64'), kdf: key.kdf };
  }
  const header: BackupHeader = {
    formatVersion: FORMAT_VERSION,
    kind: init.kind,
    database: init.database,
    chainId: init.chainId,
    sequence: init.sequence,
    baseTxnId: init.baseTxnId,
    snapshotTxnId: init.snapshotTxnId,
    pageSize: init.pageSize,
    createdAt: (init.createdAt ?? new Date()).toISOString(),
    fileId: randomBytes(16).toString('hex'),
    chunkSize,
    compression: { id: compression.codec.id, name: compression.codec.name, level: compression.level },
    cipher,
    meta: init.meta ?? {},
  };
  let text: string;
  try {
    text = serializeHeader(header);
  } catch (err) {
    throw new InvalidArgumentError(`meta cannot be serialised as JSON: ${(err as Error).message}`);
  }
  const json = Buffer.from(text, 'utf8');
  if (json.length > MAX_HEADER_LENGTH) throw new InvalidArgumentError(`backup header is ${json.length} bytes; the limit is ${MAX_HEADER_LENGTH} (meta too large)`);
  // The summary reports meta as a reader will see it (undefined members dropped, dates as strings).
  header.meta = (JSON.parse(text) as { meta: Record<string, unknown> }).meta;
  return { header, json, compression, masterKey: key ? keyMaterial(key) : null, fileParams, highWaterMark: hwm };
}

/**
 * BackupWriter: the Transform returned by `createBackupWriter`. Write plaintext, read the
 * file bytes. `done` resolves with the summary once the trailer has been pushed (await
 * your pipeline for the bytes to reach their destination), and rejects if the stream is
 * destroyed or fails first; it never causes an unhandled rejection by itself.
 *
 * Memory is bounded: at most (pool size + 1) chunks are being compressed, and the writer
 * stops taking input whenever its readable side is full (backpressure), so a slow
 * destination holds roughly 2·(pool size + 2)·chunkSize bytes plus the highWaterMarks.
 */
export class BackupWriter extends Transform {
  /** done: the summary of the finished file (see the class comment). */
  readonly done: Promise<BackupFileSummary>;
  /** header: the header this writer records (complete at construction). */
  readonly header: BackupHeader;

  readonly #compression: ResolvedCompression;
  readonly #chunkSize: number;
  readonly #maxInFlight: number;
  readonly #json: Buffer;
  readonly #masterKey: Buffer | null;
  readonly #fileParams: FileCipherParams | null;
  readonly #hash: Hash = createHash('sha256');
  #aead: ChunkAead | null = null;
  #seeds: FrameSeeds | null = null;
  #headerHash = '';
  #resolve!: (summary: BackupFileSummary) => void;
  #reject!: (err: Error) => void;
  #settled = false;

  #current: Buffer | null = null;
  #fill = 0;
  #free: Buffer[] = [];
  #queue: QueueItem[] = [];
  #nextIndex = 0;
  #plaintextBytes = 0;
  #compressedBytes = 0;
  #bytes = 0;
  #readWaiter: (() => void) | null = null;

  constructor(init: BackupHeaderInit, options: BackupWriterOptions = {}) {
    // Everything is checked before super(): a Duplex schedules _construct from its constructor.
    const plan = planWriter(init, options);
    super(plan.highWaterMark === undefined ? {} : { highWaterMark: plan.highWaterMark });
    this.header = plan.header;
    this.#json = plan.json;
    this.#compression = plan.compression;
    this.#chunkSize = plan.header.chunkSize;
    this.#masterKey = plan.masterKey;
    this.#fileParams = plan.fileParams;
    // Enough chunks in flight to keep every pool worker busy while the head one is emitted.
    this.#maxInFlight = plan.compression.codec.id === 0 ? 1 : codecPool().size + 1;
    this.done = new Promise<BackupFileSummary>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.done.catch(noop);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    xxhash().then(() => {
      const prefix = encodePrefix(this.#json.length);
      const hash = headerHash(prefix, this.#json);
      this.#headerHash = hash.toString('hex');
      this.#seeds = frameSeeds(hash);
      if (this.#masterKey && this.#fileParams) {
        this.#aead = new ChunkAead(deriveFileKey(this.#masterKey, this.#fileParams.salt), this.#fileParams.noncePrefix, hash);
      }
      this.#out(prefix);
      this.#out(this.#json);
      this.#out(hash);
      callback();
    }, callback);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#consume(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#finish().then(() => callback(), callback);
  }

  override _read(size: number): void {
    const waiter = this.#readWaiter;
    this.#readWaiter = null;
    waiter?.();
    super._read(size);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#settled) {
      this.#settled = true;
      this.#reject(err ?? new AbortedError('backup writer destroyed before it finished'));
    }
    const waiter = this.#readWaiter;
    this.#readWaiter = null;
    waiter?.();
    callback(err);
  }

  #out(buf: Buffer): boolean {
    this.#hash.update(buf);
    this.#bytes += buf.length;
    return this.push(buf);
  }

  async #consume(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.destroyed) return;
      if (!this.#current) {
        this.#current = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#chunkSize);
        this.#fill = 0;
      }
      const n = Math.min(this.#chunkSize - this.#fill, chunk.length - offset);
      this.#current.set(chunk.subarray(offset, offset + n), this.#fill);
      this.#fill += n;
      offset += n;
      if (this.#fill === this.#chunkSize) await this.#submitCurrent();
    }
  }

  async #submitCurrent(): Promise<void> {
    const buf = this.#current!;
    const length = this.#fill;
    this.#current = null;
    this.#fill = 0;
    const index = this.#nextIndex++;
    if (index >= MAX_CHUNKS) throw new InvalidArgumentError(`a backup file holds at most ${MAX_CHUNKS} chunks; use a larger chunkSize`);
    this.#plaintextBytes += length;
    const item: QueueItem = { promise: this.#prepare(index, buf, length), done: false };
    item.promise.then(() => (item.done = true), noop);
    this.#queue.push(item);
    await this.#drain(this.#maxInFlight - 1);
  }

  async #prepare(index: number, buf: Buffer, length: number): Promise<Prepared> {
    const { codec, level } = this.#compression;
    if (codec.id === 0) return { index, stored: true, payload: buf.subarray(0, length), recycle: buf, payloadIsChunk: true };
    // A full chunk owns its ArrayBuffer and is transferred to the worker (and handed back);
    // the short last chunk is copied.
    const full = length === buf.length;
    const result = await compressChunk(codec, level, full ? buf : buf.subarray(0, length), { transfer: full });
    const plain = result.input ?? buf;
    if (result.output.length >= length) return { index, stored: true, payload: plain.subarray(0, length), recycle: plain, payloadIsChunk: true };
    return { index, stored: false, payload: result.output, recycle: full ? result.input : buf, payloadIsChunk: false };
  }

  /** #drain: emits finished chunks in order until at most `limit` remain in flight (and every already-finished head). */
  async #drain(limit: number): Promise<void> {
    while (this.#queue.length > 0 && (this.#queue.length > limit || this.#queue[0].done)) {
      const prepared = await this.#queue[0].promise;
      this.#queue.shift();
      if (this.destroyed) return;
      await this.#emit(prepared);
    }
  }

  async #emit(p: Prepared): Promise<void> {
    const flags = p.stored ? FLAG_STORED : 0;
    let payload = p.payload;
    let check: Buffer;
    if (this.#aead) {
      const sealed = this.#aead.seal(p.index, flags, payload);
      payload = sealed.ciphertext;
      check = sealed.tag;
    } else {
      check = payloadChecksum(payload, p.index, this.#seeds!);
    }
    // Recycle the chunk buffer unless the payload pushed below still points into it.
    if (p.recycle && (this.#aead || !p.payloadIsChunk) && p.recycle.length === this.#chunkSize && this.#free.length <= this.#maxInFlight) {
      this.#free.push(p.recycle);
    }
    this.#compressedBytes += payload.length;
    this.#out(encodeFrameHead(p.index, payload.length, flags, this.#seeds!));
    this.#out(payload);
    if (!this.#out(check)) await this.#readable();
  }

  /** #readable: resolves when the consumer asks for more (our readable side drained), or the stream is destroyed. */
  #readable(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#readWaiter = resolve;
    });
  }

  async #finish(): Promise<void> {
    if (this.#current && this.#fill > 0) await this.#submitCurrent();
    await this.#drain(0);
    if (this.destroyed) return;
    const index = this.#nextIndex;
    const trailer = encodeTrailer({
      chunks: index,
      plaintextBytes: this.#plaintextBytes,
      compressedBytes: this.#compressedBytes,
      sha256: this.#hash.copy().digest(),
    });
    let payload = trailer;
    let check: Buffer;
    if (this.#aead) {
      const sealed = this.#aead.seal(index, FLAG_FINAL, trailer);
      payload = sealed.ciphertext;
      check = sealed.tag;
    } else {
      check = payloadChecksum(trailer, index, this.#seeds!);
    }
    this.#out(encodeFrameHead(index, payload.length, FLAG_FINAL, this.#seeds!));
    this.#out(payload);
    this.#out(check);
    this.#current = null;
    this.#free = [];
    this.#settled = true;
    this.#resolve({
      header: this.header,
      headerHash: this.#headerHash,
      bytes: this.#bytes,
      sha256: this.#hash.digest('hex'),
      chunks: index,
      plaintextBytes: this.#plaintextBytes,
      compressedBytes: this.#compressedBytes,
    });
  }
}

/**
 * createBackupWriter: a Transform from plaintext to a backup file (layout above), with
 * backpressure on both sides. Throws InvalidArgumentError synchronously for a bad header
 * or option. Compression runs in the shared codec pool (all cores, never on the event
 * loop); encryption and hashing run inline (~1 ms per compressed 4 MiB chunk).
 *
 * @example
 * ```ts
 * const writer = createBackupWriter(
 *   { kind: 'full-snapshot', database: 'orders', chainId, sequence: 0, baseTxnId: null, snapshotTxnId: 42, pageSize: 4096 },
 *   { compression: 'zstd', level: 3, key: await loadKey({ file: 'backup.key' }) },
 * );
 * await pipeline(pages, writer, createWriteStream('full.pgv'));
 * const { sha256, plaintextBytes } = await writer.done;
 * ```
 */
export function createBackupWriter(init: BackupHeaderInit, options: BackupWriterOptions = {}): BackupWriter {
  return new BackupWriter(init, options);
}
