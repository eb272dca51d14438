/**
 * layout: constants and byte-level encoders/decoders of the backup file format, shared
 * by the writer and the reader. The format is described field by field at the top of
 * `writer.ts`; keep the two in step.
 *
 * Functions that compute xxHash need `await xxhash()` first (see transforms/checksum.ts).
 */
import { createHash } from 'node:crypto';
import { BackupCorruptError, BackupTruncatedError, UnsupportedBackupError } from '../errors.js';
import { xxh32, xxh64Parts } from '../transforms/checksum.js';

/** MAGIC: the first 8 bytes of every backup file. */
export const MAGIC = Buffer.from('PGVAULT\x01', 'latin1');
/** FORMAT_VERSION: the layout version this pagevault writes and reads. */
export const FORMAT_VERSION = 1;
/** PREFIX_LENGTH: magic, version, header length, prefix check. */
export const PREFIX_LENGTH = 18;
/** HEADER_HASH_LENGTH: SHA-256 after the JSON header. */
export const HEADER_HASH_LENGTH = 32;
/** MAX_HEADER_LENGTH: the largest JSON header accepted (1 MiB). */
export const MAX_HEADER_LENGTH = 1024 * 1024;
/** FRAME_HEAD_LENGTH: payload length, flags, head check. */
export const FRAME_HEAD_LENGTH = 9;
/** FLAG_FINAL: frame flag bit 0: this is the trailer, the last frame of the file. */
export const FLAG_FINAL = 0x01;
/** FLAG_STORED: frame flag bit 1: the payload is the chunk uncompressed (compression did not shrink it). */
export const FLAG_STORED = 0x02;
/** TRAILER_LENGTH: bytes of the trailer payload before sealing. */
export const TRAILER_LENGTH = 56;
/** CHECKSUM_LENGTH: bytes of an unencrypted frame's payload check (xxHash64). */
export const CHECKSUM_LENGTH = 8;
/** MIN_CHUNK_SIZE, MAX_CHUNK_SIZE, DEFAULT_CHUNK_SIZE: plaintext bytes per chunk. */
export const MIN_CHUNK_SIZE = 4096;
export const MAX_CHUNK_SIZE = 64 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

/** encodePrefix: the 18-byte file prefix for a header of `headerLength` bytes. */
export function encodePrefix(headerLength: number, version = FORMAT_VERSION): Buffer {
  const prefix = Buffer.alloc(PREFIX_LENGTH);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt16BE(version, 8);
  prefix.writeUInt32BE(headerLength, 10);
  prefix.writeUInt32BE(xxh32(prefix.subarray(0, 14), 0), 14);
  return prefix;
}

/**
 * decodePrefix: the format version and header length from the first 18 bytes. The prefix
 * check is verified before the version is read, so a damaged version field is reported
 * as corruption and only a well-formed unknown version as UnsupportedBackupError.
 */
export function decodePrefix(prefix: Uint8Array): { version: number; headerLength: number } {
  const buf = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw new BackupCorruptError('not a pagevault backup file (bad magic)');
  if (buf.readUInt32BE(14) !== xxh32(buf.subarray(0, 14), 0)) throw new BackupCorruptError('backup file prefix failed its check');
  const version = buf.readUInt16BE(8);
  if (version !== FORMAT_VERSION) throw new UnsupportedBackupError(`backup format version ${version} is not supported (this pagevault reads version ${FORMAT_VERSION})`);
  const headerLength = buf.readUInt32BE(10);
  if (headerLength < 2 || headerLength > MAX_HEADER_LENGTH) throw new BackupCorruptError(`backup header length ${headerLength} out of range`);
  return { version, headerLength };
}

/** failShortPrefix: the error for a file that ends within its first 18 bytes: truncated if what is there is a prefix of the magic, else not a backup. */
export function failShortPrefix(bytes: Uint8Array): Error {
  const n = Math.min(bytes.byteLength, MAGIC.length);
  if (Buffer.from(bytes.buffer, bytes.byteOffset, n).equals(MAGIC.subarray(0, n))) return new BackupTruncatedError(`backup file ends after ${bytes.byteLength} bytes, inside its prefix`);
  return new BackupCorruptError('not a pagevault backup file (bad magic)');
}

/** headerHash: SHA-256 of the prefix and the JSON header bytes. */
export function headerHash(prefix: Uint8Array, json: Uint8Array): Buffer {
  return createHash('sha256').update(prefix).update(json).digest();
}

/** FrameSeeds: per-file seeds for the unkeyed frame checks, taken from the header hash. */
export interface FrameSeeds {
  head: number;
  payload: bigint;
}

/** frameSeeds: binds every frame check to this file's header. */
export function frameSeeds(hash: Uint8Array): FrameSeeds {
  const buf = Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength);
  return { head: buf.readUInt32BE(0), payload: buf.readBigUInt64BE(8) };
}

function headCheck(index: number, length: number, flags: number, seed: number): number {
  const input = Buffer.allocUnsafe(9);
  input.writeUInt32BE(index, 0);
  input.writeUInt32BE(length, 4);
  input.writeUInt8(flags, 8);
  return xxh32(input, seed);
}

/** encodeFrameHead: the 9-byte head of frame `index`. */
export function encodeFrameHead(index: number, length: number, flags: number, seeds: FrameSeeds): Buffer {
  const head = Buffer.allocUnsafe(FRAME_HEAD_LENGTH);
  head.writeUInt32BE(length, 0);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(headCheck(index, length, flags, seeds.head), 5);
  return head;
}

/**
 * decodeFrameHead: payload length and flags of frame `index`; BackupCorruptError when the
 * head check fails (a damaged length or flags, or a frame moved, duplicated, dropped or
 * taken from another file) or the flags are invalid.
 */
export function decodeFrameHead(head: Uint8Array, index: number, seeds: FrameSeeds): { length: number; flags: number } {
  const buf = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const length = buf.readUInt32BE(0);
  const flags = buf.readUInt8(4);
  if (buf.readUInt32BE(5) !== headCheck(index, length, flags, seeds.head)) {
    throw new BackupCorruptError(`frame ${index} head failed its check (damaged, or a frame out of place)`);
  }
  if ((flags & ~(FLAG_FINAL | FLAG_STORED)) !== 0 || flags === (FLAG_FINAL | FLAG_STORED)) throw new BackupCorruptError(`frame ${index} has invalid flags ${flags}`);
  return { length, flags };
}

/** payloadChecksum: the xxHash64 check of an unencrypted frame's payload, bound to the file and the frame index. */
export function payloadChecksum(payload: Uint8Array, index: number, seeds: FrameSeeds): Buffer {
  return xxh64Parts([payload], seeds.payload ^ BigInt(index));
}

/** Trailer: the counts and hash the last frame carries. */
export interface Trailer {
  chunks: number;
  plaintextBytes: number;
  compressedBytes: number;
  /** SHA-256 of every file byte before the trailer frame. */
  sha256: Buffer;
}

/** encodeTrailer: the 56-byte trailer payload. */
export function encodeTrailer(t: Trailer): Buffer {
  const buf = Buffer.alloc(TRAILER_LENGTH);
  buf.writeBigUInt64BE(BigInt(t.chunks), 0);
  buf.writeBigUInt64BE(BigInt(t.plaintextBytes), 8);
  buf.writeBigUInt64BE(BigInt(t.compressedBytes), 16);
  t.sha256.copy(buf, 24);
  return buf;
}

/** decodeTrailer: the trailer in `buf` (already authenticated or checksummed). */
export function decodeTrailer(buf: Uint8Array): Trailer {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const num = (at: number): number => {
    const v = b.readBigUInt64BE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BackupCorruptError('backup trailer count out of range');
    return Number(v);
  };
  return { chunks: num(0), plaintextBytes: num(8), compressedBytes: num(16), sha256: Buffer.from(b.subarray(24, 56)) };
}
