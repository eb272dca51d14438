/**
 * format: the pagevault backup file: a self-describing, streamable layout (magic,
 * version, JSON header, checksummed or authenticated frames, trailer with counts and a
 * whole-file hash; see the top of `writer.ts`), its writer and reader as stream
 * Transforms with backpressure, and whole-file helpers (`readBackupHeader`,
 * `verifyBackupFile`). Compression and encryption themselves live in `transforms/`, keys
 * in `keys/`.
 */
export { createBackupWriter, BackupWriter } from './writer.js';
export type { BackupWriterOptions, BackupFileSummary } from './writer.js';
export { createBackupReader, BackupReader, readBackupHeader, verifyBackupFile } from './reader.js';
export type { BackupReaderOptions } from './reader.js';
export { BACKUP_KINDS } from './header.js';
export type { BackupHeader, BackupHeaderInit, BackupKind, CipherInfo, CompressionInfo, PlainCipherInfo, SealedCipherInfo } from './header.js';
export { DEFAULT_CHUNK_SIZE, FORMAT_VERSION, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from './layout.js';
