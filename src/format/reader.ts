/**
 * reader: `createBackupReader` (file bytes → verified plaintext), `readBackupHeader` and
 * `verifyBackupFile`. The layout is described at the top of `writer.ts`.
 *
 * The reader checks as it goes and never emits a byte it has not verified: the prefix
 * check and header hash first, then the key against the header's key id (so a wrong or
 * missing key fails before any output), then each frame's head check and payload
 * checksum or GCM tag before its chunk is decompressed and pushed. Checks that need the
 * whole file (trailer counts, whole-file SHA-256, nothing after the trailer) complete at
 * the end: a consumer must treat a stream that ends in an error as failed, even though it
 * already received earlier, individually verified chunks.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortedError,
  BackupCorruptError,
  BackupTruncatedError,
  InvalidArgumentError,
  IoError,
  KeyRequiredError,
  NotFoundError,
  WrongKeyError,
} from '../errors.js';
import { keyIdsEqual, keyMaterial, LoadedKey } from '../keys/keys.js';
import { xxhash } from '../transforms/checksum.js';
import { CodecDataError, codecPool } from '../transforms/codec-pool.js';
import { compressionCodecs, decompressChunk, type CompressionCodec } from '../transforms/compress.js';
import { ChunkAead, deriveFileKey, type OpenParams } from '../transforms/encrypt.js';
import { isSealed, parseHeader, type BackupHeader } from './header.js';
import {
  CHECKSUM_LENGTH,
  decodeFrameHead,
  decodePrefix,
  decodeTrailer,
  failShortPrefix,
  FLAG_FINAL,
  FLAG_STORED,
  FRAME_HEAD_LENGTH,
  frameSeeds,
  HEADER_HASH_LENGTH,
  headerHash,
  payloadChecksum,
  PREFIX_LENGTH,
  TRAILER_LENGTH,
  type FrameSeeds,
} from './layout.js';
import type { BackupFileSummary } from './writer.js';

/** BackupReaderOptions: the key for encrypted files, and the stream buffer size. */
export interface BackupReaderOptions {
  /** Required for an encrypted file (KeyRequiredError otherwise). */
  key?: LoadedKey;
  /**
   * With a key given, an unencrypted file is refused (WrongKeyError) unless this is false:
   * whoever can replace a backup could otherwise swap an encrypted file for a forged
   * unencrypted one, which no key authenticates. Default: true when `key` is given.
   */
  requireEncryption?: boolean;
  /** highWaterMark of the writable (file bytes) side in bytes; default Node's (16 KiB). */
  highWaterMark?: number;
  /**
   * Verified chunks the readable side holds before the reader waits for its consumer; default 1. (Chunks from
   * the decompression workers still in flight come on top.) The readable side is in object mode: each read
   * yields one whole chunk as decoded, never several glued together, which in byte mode cost a copy of every
   * buffered chunk on each read (a quarter of a restore's main-thread time).
   */
  readAheadChunks?: number;
  /**
   * The consumer hands every chunk back with `recycle()` once done with it: decompressed chunks then live in
   * shared memory (SharedArrayBuffer) that later chunks reuse. Default false: every chunk is fresh memory the
   * consumer may keep.
   */
  recycleChunks?: boolean;
}

/** ByteQueue: incoming stream chunks, taken out in exact sizes without copying when one chunk suffices. */
class ByteQueue {
  #chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  take(n: number): Buffer {
    this.length -= n;
    const first = this.#chunks[0];
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) return this.#chunks.shift()!;
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.#chunks[0];
      const k = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, k);
      at += k;
      if (k === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(k);
    }
    return out;
  }

  peekAll(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

type State = 'prefix' | 'header' | 'frame-head' | 'frame-body' | 'done';

interface Pending {
  promise: Promise<Buffer>;
  done: boolean;
}

const noop = (): void => {};

/**
 * BackupReader: the Transform returned by `createBackupReader`. Write file bytes, read
 * verified plaintext. `header` resolves as soon as the header is parsed, its hash checked
 * and the key checked against its key id, before any output: so awaiting it answers "is
 * this the file I expect, and do I hold its key?" (it rejects with KeyRequiredError or
 * WrongKeyError otherwise; use `readBackupHeader` to look at a header without the key).
 * For an encrypted file the header is authenticated only when the first frame's tag
 * verifies, which happens before that frame's plaintext is emitted. `done` resolves with
 * the summary after the trailer verified. Both reject with the stream's error and never
 * cause an unhandled rejection by themselves.
 *
 * Errors: BackupCorruptError (a check, tag or structural rule failed, bytes after the
 * trailer), BackupTruncatedError (input ended before the trailer), UnsupportedBackupError
 * (unknown version, codec, cipher, KDF), KeyRequiredError, WrongKeyError (also for an
 * unencrypted file when a key was given, see `requireEncryption`).
 */
export class BackupReader extends Transform {
  /** header: the parsed header (see the class comment). */
  readonly header: Promise<BackupHeader>;
  /** done: the summary of the verified file. */
  readonly done: Promise<BackupFileSummary>;

  readonly #key: LoadedKey | undefined;
  readonly #requireEncryption: boolean;
  readonly #sharedOutput: boolean;
  readonly #input = new ByteQueue();
  readonly #hash: Hash = createHash('sha256');
  #state: State = 'prefix';
  #prefix: Buffer | null = null;
  #headerLength = 0;
  #header: BackupHeader | null = null;
  #headerHash = '';
  #seeds: FrameSeeds | null = null;
  #aead: ChunkAead | null = null;
  #codec: CompressionCodec | null = null;
  #checkLength = CHECKSUM_LENGTH;
  #frameLength = 0;
  #frameFlags = 0;
  #fileHashBeforeTrailer: Buffer | null = null;
  #index = 0;
  #queue: Pending[] = [];
  #maxInFlight = 1;
  #plaintextBytes = 0;
  #compressedBytes = 0;
  #emittedChunks = 0;
  #sawShortChunk = false;
  #bytes = 0;
  #readWaiter: (() => void) | null = null;
  #resolveHeader!: (header: BackupHeader) => void;
  #rejectHeader!: (err: Error) => void;
  #resolveDone!: (summary: BackupFileSummary) => void;
  #rejectDone!: (err: Error) => void;
  #headerSettled = false;
  #doneSettled = false;

  constructor(options: BackupReaderOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('Expected an options object for createBackupReader');
    if (options.key !== undefined && !(options.key instanceof LoadedKey)) throw new InvalidArgumentError('Expected a LoadedKey (from loadKey) for key');
    const hwm = options.highWaterMark;
    if (hwm !== undefined && (!Number.isInteger(hwm) || hwm < 1)) throw new InvalidArgumentError(`Expected a positive integer for highWaterMark but received ${String(hwm)}`);
    const ahead = options.readAheadChunks ?? 1;
    if (!Number.isInteger(ahead) || ahead < 1) throw new InvalidArgumentError(`Expected a positive integer for readAheadChunks but received ${String(ahead)}`);
    super({ readableObjectMode: true, readableHighWaterMark: ahead, ...(hwm === undefined ? {} : { writableHighWaterMark: hwm }) });
    this.#key = options.key;
    this.#requireEncryption = options.requireEncryption ?? options.key !== undefined;
    this.#sharedOutput = options.recycleChunks === true;
    this.header = new Promise<BackupHeader>((resolve, reject) => {
      this.#resolveHeader = resolve;
      this.#rejectHeader = reject;
    });
    this.header.catch(noop);
    this.done = new Promise<BackupFileSummary>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    this.done.catch(noop);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    xxhash().then(() => callback(), callback);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length;
    this.#input.push(chunk);
    this.#process().then(() => callback(), (err: Error) => callback(this.#fail(err)));
  }

  override _flush(callback: TransformCallback): void {
    this.#end().then(() => callback(), (err: Error) => callback(this.#fail(err)));
  }

  override _read(size: number): void {
    const waiter = this.#readWaiter;
    this.#readWaiter = null;
    waiter?.();
    super._read(size);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#fail(err ?? new AbortedError('backup reader destroyed before it finished'));
    const waiter = this.#readWaiter;
    this.#readWaiter = null;
    waiter?.();
    callback(err);
  }

  /**
   * recycle: the consumer is done with `chunk`, one this reader pushed, and will not touch it or any view of it
   * again: with `recycleChunks` its memory serves a later decompression (see `CodecPool.recycle`); without, this
   * does nothing. A consumer that does not call it for some chunk loses nothing but the reuse.
   */
  recycle(chunk: Uint8Array): void {
    if (!this.#sharedOutput) return;
    codecPool().recycle(chunk);
  }

  #fail(err: Error): Error {
    if (!this.#headerSettled) {
      this.#headerSettled = true;
      this.#rejectHeader(err);
    }
    if (!this.#doneSettled) {
      this.#doneSettled = true;
      this.#rejectDone(err);
    }
    return err;
  }

  async #process(): Promise<void> {
    for (;;) {
      if (this.destroyed) return;
      switch (this.#state) {
        case 'prefix': {
          if (this.#input.length < PREFIX_LENGTH) {
            // Fail early on a file that is not a backup at all, without waiting for 18 bytes.
            const err = failShortPrefix(this.#input.peekAll());
            if (err instanceof BackupCorruptError) throw err;
            return;
          }
          this.#prefix = this.#input.take(PREFIX_LENGTH);
          this.#headerLength = decodePrefix(this.#prefix).headerLength;
          this.#hash.update(this.#prefix);
          this.#state = 'header';
          break;
        }
        case 'header': {
          if (this.#input.length < this.#headerLength + HEADER_HASH_LENGTH) return;
          const json = this.#input.take(this.#headerLength);
          const stored = this.#input.take(HEADER_HASH_LENGTH);
          const hash = headerHash(this.#prefix!, json);
          if (!hash.equals(stored)) throw new BackupCorruptError('backup header failed its hash check');
          const header = parseHeader(json, decodePrefix(this.#prefix!).version);
          this.#hash.update(json).update(stored);
          this.#header = header;
          this.#headerHash = hash.toString('hex');
          this.#seeds = frameSeeds(hash);
          await this.#setupCipher(header, hash);
          this.#headerSettled = true;
          this.#resolveHeader(header);
          this.#codec = compressionCodecs.byId(header.compression.id)!;
          this.#maxInFlight = this.#codec.id === 0 ? 1 : codecPool().size + 1;
          this.#state = 'frame-head';
          break;
        }
        case 'frame-head': {
          if (this.#input.length < FRAME_HEAD_LENGTH) return;
          const head = this.#input.take(FRAME_HEAD_LENGTH);
          const { length, flags } = decodeFrameHead(head, this.#index, this.#seeds!);
          if (flags & FLAG_FINAL) {
            if (length !== TRAILER_LENGTH) throw new BackupCorruptError(`trailer frame has length ${length}, expected ${TRAILER_LENGTH}`);
            this.#fileHashBeforeTrailer = this.#hash.copy().digest();
          } else if (length < 1 || length > this.#header!.chunkSize) {
            throw new BackupCorruptError(`frame ${this.#index} has length ${length}, outside [1, ${this.#header!.chunkSize}]`);
          }
          this.#hash.update(head);
          this.#frameLength = length;
          this.#frameFlags = flags;
          this.#state = 'frame-body';
          break;
        }
        case 'frame-body': {
          if (this.#input.length < this.#frameLength + this.#checkLength) return;
          const payload = this.#input.take(this.#frameLength);
          const check = this.#input.take(this.#checkLength);
          this.#hash.update(payload).update(check);
          const stored = (this.#frameFlags & FLAG_STORED) !== 0;
          if (this.#frameFlags & FLAG_FINAL) {
            const plain = this.#open(payload, check);
            await this.#drain(0);
            this.#verifyTrailer(plain);
            this.#state = 'done';
          } else {
            this.#compressedBytes += payload.length;
            if (this.#aead !== null && !stored && this.#codec!.id !== 0) {
              // Opened by the worker that decompresses it: the tag is checked there, before any of it is used.
              this.#submitSealed(payload, check);
            } else {
              this.#submit(this.#open(payload, check), stored);
            }
            this.#index++;
            this.#state = 'frame-head';
            await this.#drain(this.#maxInFlight - 1);
          }
          break;
        }
        case 'done':
          if (this.#input.length > 0) throw new BackupCorruptError(`${this.#input.length} bytes after the backup trailer`);
          return;
      }
    }
  }

  async #setupCipher(header: BackupHeader, hash: Buffer): Promise<void> {
    const cipher = header.cipher;
    if (!isSealed(cipher)) {
      if (this.#requireEncryption) throw new WrongKeyError('backup is not encrypted, but a key was given (pass requireEncryption: false to accept unencrypted files)');
      this.#checkLength = CHECKSUM_LENGTH;
      return;
    }
    if (!this.#key) throw new KeyRequiredError(`backup is encrypted (${cipher.name}, key id ${cipher.keyId}); a key is required`);
    const key = await this.#key.forKdf(cipher.kdf);
    if (!keyIdsEqual(key.id, cipher.keyId)) {
      const hint = cipher.kdf && this.#key.source !== 'passphrase' ? ' (the backup was encrypted with a passphrase)' : !cipher.kdf && this.#key.source === 'passphrase' ? ' (the backup was encrypted with a key file, not a passphrase)' : '';
      throw new WrongKeyError(`wrong key for this backup: it needs key id ${cipher.keyId}, the key given has id ${key.id}${hint}`);
    }
    this.#aead = new ChunkAead(deriveFileKey(keyMaterial(key), Buffer.from(cipher.salt, 'base64')), Buffer.from(cipher.noncePrefix, 'base64'), hash);
    this.#checkLength = 16;
  }

  #open(payload: Buffer, check: Buffer): Buffer {
    if (this.#aead) return this.#aead.open(this.#index, this.#frameFlags, payload, check);
    if (!payloadChecksum(payload, this.#index, this.#seeds!).equals(check)) {
      throw new BackupCorruptError(`frame ${this.#index} failed its checksum`);
    }
    return payload;
  }

  #submit(plain: Buffer, stored: boolean): void {
    if (stored) {
      this.#enqueue(Promise.resolve(plain));
      return;
    }
    // Decrypted payloads are fresh buffers: hand them to the worker instead of copying.
    this.#enqueue(this.#decompress(plain, { transfer: this.#aead !== null }));
  }

  #submitSealed(ciphertext: Buffer, tag: Buffer): void {
    this.#enqueue(this.#decompress(ciphertext, { open: this.#aead!.params(this.#index, this.#frameFlags, tag) }));
  }

  #decompress(input: Buffer, options: { transfer?: boolean; open?: OpenParams }): Promise<Buffer> {
    const index = this.#index;
    return decompressChunk(this.#codec!, input, this.#header!.chunkSize, { ...options, sharedOutput: this.#sharedOutput }).then(
      (result) => result.output,
      (err: unknown) => {
        if (err instanceof CodecDataError && err.reason === 'auth') {
          throw new BackupCorruptError(`chunk ${index} failed authentication (tampered, reordered or from another file)`, { cause: err });
        }
        if (err instanceof CodecDataError) throw new BackupCorruptError(`frame ${index} does not decompress: ${err.message}`, { cause: err });
        throw err;
      },
    );
  }

  #enqueue(promise: Promise<Buffer>): void {
    const item: Pending = { promise, done: false };
    promise.then(() => (item.done = true), noop);
    this.#queue.push(item);
  }

  async #drain(limit: number): Promise<void> {
    const chunkSize = this.#header!.chunkSize;
    while (this.#queue.length > 0 && (this.#queue.length > limit || this.#queue[0].done)) {
      const chunk = await this.#queue[0].promise;
      this.#queue.shift();
      if (this.destroyed) return;
      if (this.#sawShortChunk) throw new BackupCorruptError(`chunk ${this.#emittedChunks - 1} is shorter than the chunk size but is not the last`);
      if (chunk.length === 0 || chunk.length > chunkSize) throw new BackupCorruptError(`chunk ${this.#emittedChunks} has ${chunk.length} bytes, outside [1, ${chunkSize}]`);
      if (chunk.length < chunkSize) this.#sawShortChunk = true;
      this.#emittedChunks++;
      this.#plaintextBytes += chunk.length;
      if (!this.push(chunk)) await this.#readable();
    }
  }

  #readable(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#readWaiter = resolve;
    });
  }

  #verifyTrailer(plain: Buffer): void {
    const trailer = decodeTrailer(plain);
    if (trailer.chunks !== this.#index) throw new BackupCorruptError(`trailer counts ${trailer.chunks} chunks, the file has ${this.#index}`);
    if (trailer.plaintextBytes !== this.#plaintextBytes) throw new BackupCorruptError(`trailer counts ${trailer.plaintextBytes} plaintext bytes, the chunks hold ${this.#plaintextBytes}`);
    if (trailer.compressedBytes !== this.#compressedBytes) throw new BackupCorruptError(`trailer counts ${trailer.compressedBytes} compressed bytes, the frames hold ${this.#compressedBytes}`);
    if (!trailer.sha256.equals(this.#fileHashBeforeTrailer!)) throw new BackupCorruptError('backup file failed its whole-file SHA-256 check');
  }

  async #end(): Promise<void> {
    await this.#process();
    if (this.#state !== 'done') {
      if (this.#state === 'prefix') throw failShortPrefix(this.#input.peekAll());
      throw new BackupTruncatedError(`backup file ends after ${this.#bytes} bytes, before its trailer${this.#header ? ` (in frame ${this.#index})` : ' (inside the header)'}`);
    }
    this.#doneSettled = true;
    this.#resolveDone({
      header: this.#header!,
      headerHash: this.#headerHash,
      bytes: this.#bytes,
      sha256: this.#hash.digest('hex'),
      chunks: this.#index,
      plaintextBytes: this.#plaintextBytes,
      compressedBytes: this.#compressedBytes,
    });
  }
}

/**
 * createBackupReader: a Transform from backup file bytes to verified plaintext (see
 * BackupReader for the guarantees and errors). Decompression runs in the shared codec
 * pool; checksums and decryption inline.
 *
 * @example
 * ```ts
 * const reader = createBackupReader({ key });
 * const header = reader.header;          // key checked; check chain and database before writing anything
 * await pipeline(createReadStream('full.pgv'), reader, destination);
 * ```
 */
export function createBackupReader(options: BackupReaderOptions = {}): BackupReader {
  return new BackupReader(options);
}

/**
 * readBackupHeader: the header of the backup file at `path`, reading only its first
 * bytes; checks the prefix and header hash (no key needed). Throws NotFoundError,
 * BackupCorruptError, BackupTruncatedError, UnsupportedBackupError.
 */
export async function readBackupHeader(path: string): Promise<BackupHeader> {
  await xxhash();
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`backup file ${path} does not exist`, { cause: err });
    throw new IoError(`cannot open backup file ${path}`, { cause: err });
  }
  try {
    const prefix = Buffer.alloc(PREFIX_LENGTH);
    const { bytesRead } = await handle.read(prefix, 0, PREFIX_LENGTH, 0);
    if (bytesRead < PREFIX_LENGTH) throw failShortPrefix(prefix.subarray(0, bytesRead));
    const { version, headerLength } = decodePrefix(prefix);
    const rest = Buffer.alloc(headerLength + HEADER_HASH_LENGTH);
    const got = (await handle.read(rest, 0, rest.length, PREFIX_LENGTH)).bytesRead;
    if (got < rest.length) throw new BackupTruncatedError(`backup file ${path} ends inside its header`);
    const json = rest.subarray(0, headerLength);
    if (!headerHash(prefix, json).equals(rest.subarray(headerLength))) throw new BackupCorruptError('backup header failed its hash check');
    return parseHeader(json, version);
  } finally {
    await handle.close();
  }
}

/**
 * verifyBackupFile: reads the whole file at `path` through a BackupReader, discarding the
 * plaintext, and returns its summary; throws what the reader throws (and NotFoundError).
 * Needs the key for an encrypted file; `requireEncryption` as for createBackupReader.
 */
export async function verifyBackupFile(path: string, options: { key?: LoadedKey; requireEncryption?: boolean } = {}): Promise<BackupFileSummary> {
  const reader = createBackupReader({ key: options.key, requireEncryption: options.requireEncryption });
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  try {
    await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), reader, sink);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`backup file ${path} does not exist`, { cause: err });
    throw err;
  }
  return reader.done;
}
