/**
 * transforms: the byte-level stages of a backup that know nothing of LMDB or the CLI
 * (the linter enforces it): compression codecs and the worker pool that runs them
 * (`compress.ts`, `codec-pool.ts`), chunked AES-256-GCM (`encrypt.ts`), frame checksums
 * (`checksum.ts`), and the name ↔ header id registries (`registry.ts`). The backup file
 * format in `format/` composes them.
 */
export { compressionCodecs, compressChunk, decompressChunk, resolveCompression } from './compress.js';
export type { CompressionCodec, CompressionName, ResolvedCompression } from './compress.js';
export { closeCodecPool, codecPool, CodecDataError, CodecPool } from './codec-pool.js';
export type { CodecJob, CodecResult } from './codec-pool.js';
export { ChunkAead, cipherSuites, deriveFileKey, newFileCipherParams } from './encrypt.js';
export type { CipherName, CipherSuite, FileCipherParams, SealedChunk } from './encrypt.js';
export { Registry } from './registry.js';
export type { RegistryEntry } from './registry.js';
