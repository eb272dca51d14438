/**
 * header: the JSON header of a backup file: its TypeScript shape, the checks applied to
 * what a caller asks the writer to record (InvalidArgumentError) and to what a reader
 * finds in a file (BackupCorruptError for malformed content, UnsupportedBackupError for
 * well-formed content this version does not implement). The byte layout around it is
 * described at the top of `writer.ts`.
 */
import { BackupCorruptError, InvalidArgumentError, UnsupportedBackupError } from '../errors.js';
import type { KdfParams } from '../keys/keys.js';
import { compressionCodecs } from '../transforms/compress.js';
import { cipherSuites, FILE_SALT_LENGTH, NONCE_PREFIX_LENGTH } from '../transforms/encrypt.js';
import { MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from './layout.js';

/** BACKUP_KINDS: what a backup file holds: raw pages (snapshot) or a JSON export (backup), full or incremental. */
export const BACKUP_KINDS = ['full-snapshot', 'incremental-snapshot', 'full-backup', 'incremental-backup'] as const;

/** BackupKind: one of BACKUP_KINDS. */
export type BackupKind = (typeof BACKUP_KINDS)[number];

/**
 * BackupHeaderInit: what the caller records in a new file. Rules (checked by
 * `createBackupWriter`, InvalidArgumentError otherwise): a full-* file has
 * `sequence` 0 and `baseTxnId` null; an incremental-* file has `sequence` ≥ 1 and
 * `baseTxnId` ≤ `snapshotTxnId`; transaction ids are safe non-negative integers;
 * `pageSize` is null or a power of two in [512, 65536]; `meta` must survive
 * `JSON.stringify` and the whole header must fit in 1 MiB.
 */
export interface BackupHeaderInit {
  kind: BackupKind;
  /** Identity of the backed-up database (e.g. a name or a UUID the caller assigns); 1–1024 characters. */
  database: string;
  /** The chain (one full and its incrementals) this file belongs to; 1–256 characters. */
  chainId: string;
  /** Position in the chain: 0 for the full, 1, 2, … for incrementals. */
  sequence: number;
  /** Transaction id an incremental starts after; null for a full. */
  baseTxnId: number | null;
  /** Transaction id of the snapshot this file captures. */
  snapshotTxnId: number;
  /** LMDB page size for snapshots; null for JSON backups. */
  pageSize: number | null;
  /** Creation time; defaults to now (inject for reproducible tests). */
  createdAt?: Date;
  /** Free-form JSON object for the caller (counts, tool version, labels…). */
  meta?: Record<string, unknown>;
}

/** CompressionInfo: the codec (header id and name) and level of every chunk. */
export interface CompressionInfo {
  id: number;
  name: string;
  level: number;
}

/** PlainCipherInfo: an unencrypted file: frames carry xxHash64 checksums. */
export interface PlainCipherInfo {
  id: 0;
  name: 'none';
}

/** SealedCipherInfo: an encrypted file: the key id, the per-file salt and nonce prefix (base64), and the KDF for passphrase keys. */
export interface SealedCipherInfo {
  id: number;
  name: string;
  keyId: string;
  salt: string;
  noncePrefix: string;
  kdf: KdfParams | null;
}

/** CipherInfo: how frames are sealed. */
export type CipherInfo = PlainCipherInfo | SealedCipherInfo;

/** BackupHeader: everything a backup file says about itself (the JSON header plus the format version from the prefix). */
export interface BackupHeader {
  formatVersion: number;
  kind: BackupKind;
  database: string;
  chainId: string;
  sequence: number;
  baseTxnId: number | null;
  snapshotTxnId: number;
  pageSize: number | null;
  /** ISO 8601, UTC. */
  createdAt: string;
  /** 16 random bytes, hex: makes every header (and so every header hash) unique. */
  fileId: string;
  chunkSize: number;
  compression: CompressionInfo;
  cipher: CipherInfo;
  meta: Record<string, unknown>;
}

/** isSealed: true when `cipher` describes an encrypted file. */
export function isSealed(cipher: CipherInfo): cipher is SealedCipherInfo {
  return cipher.id !== 0;
}

type Fail = (message: string) => Error;

const isSafeCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** checkIdentity: the caller-supplied fields, shared by the writer's and the reader's checks. */
function checkIdentity(h: Record<string, unknown>, fail: Fail): void {
  if (typeof h.kind !== 'string' || !(BACKUP_KINDS as readonly string[]).includes(h.kind)) throw fail(`Expected one of ${BACKUP_KINDS.join(', ')} for kind but received ${JSON.stringify(h.kind)}`);
  if (typeof h.database !== 'string' || h.database.length < 1 || h.database.length > 1024) throw fail('Expected a string of 1–1024 characters for database');
  if (typeof h.chainId !== 'string' || h.chainId.length < 1 || h.chainId.length > 256) throw fail('Expected a string of 1–256 characters for chainId');
  if (!isSafeCount(h.sequence)) throw fail(`Expected a non-negative integer for sequence but received ${String(h.sequence)}`);
  if (!isSafeCount(h.snapshotTxnId)) throw fail(`Expected a non-negative integer for snapshotTxnId but received ${String(h.snapshotTxnId)}`);
  if (h.baseTxnId !== null && !isSafeCount(h.baseTxnId)) throw fail(`Expected null or a non-negative integer for baseTxnId but received ${String(h.baseTxnId)}`);
  const full = h.kind === 'full-snapshot' || h.kind === 'full-backup';
  if (full && (h.baseTxnId !== null || h.sequence !== 0)) throw fail(`a ${h.kind} has sequence 0 and baseTxnId null`);
  if (!full && (h.baseTxnId === null || (h.sequence as number) < 1)) throw fail(`an ${h.kind} has sequence ≥ 1 and a baseTxnId`);
  if (!full && (h.baseTxnId as number) > (h.snapshotTxnId as number)) throw fail(`baseTxnId ${String(h.baseTxnId)} is after snapshotTxnId ${String(h.snapshotTxnId)}`);
  const ps = h.pageSize;
  if (ps !== null && (typeof ps !== 'number' || !Number.isInteger(ps) || ps < 512 || ps > 65536 || (ps & (ps - 1)) !== 0)) {
    throw fail(`Expected null or a power of two in [512, 65536] for pageSize but received ${String(ps)}`);
  }
  if (!isPlainObject(h.meta)) throw fail('Expected a plain object for meta');
}

/** checkHeaderInit: InvalidArgumentError unless `init` follows the BackupHeaderInit rules. */
export function checkHeaderInit(init: BackupHeaderInit): void {
  if (!isPlainObject(init as unknown)) throw new InvalidArgumentError('Expected an object for the backup header');
  if (init.createdAt !== undefined && (!(init.createdAt instanceof Date) || Number.isNaN(init.createdAt.getTime()))) {
    throw new InvalidArgumentError('Expected a valid Date for createdAt');
  }
  checkIdentity({ ...init, meta: init.meta ?? {} }, (m) => new InvalidArgumentError(m));
}

/**
 * serializeHeader: the JSON text of `header` (without `formatVersion`, which lives in
 * the binary prefix), fields in a fixed order.
 */
export function serializeHeader(header: BackupHeader): string {
  const { kind, database, chainId, sequence, baseTxnId, snapshotTxnId, pageSize, createdAt, fileId, chunkSize, compression, cipher, meta } = header;
  return JSON.stringify({ kind, database, chainId, sequence, baseTxnId, snapshotTxnId, pageSize, createdAt, fileId, chunkSize, compression, cipher, meta });
}

const corrupt: Fail = (m) => new BackupCorruptError(`backup header: ${m}`);
const unsupported: Fail = (m) => new UnsupportedBackupError(`backup header: ${m}`);

function base64Length(v: unknown): number {
  return typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) ? Buffer.from(v, 'base64').length : -1;
}

/**
 * parseHeader: the BackupHeader in `json` (already checked against the header hash).
 * Unknown top-level fields are ignored (additions within a format version). Throws
 * BackupCorruptError for malformed JSON or fields, UnsupportedBackupError for an unknown
 * compression, cipher or KDF, or a level or chunk size outside this version's range.
 */
export function parseHeader(json: Uint8Array, formatVersion: number): BackupHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch (err) {
    throw new BackupCorruptError('backup header is not valid JSON', { cause: err });
  }
  if (!isPlainObject(raw)) throw corrupt('not a JSON object');
  const h = raw;
  checkIdentity(h, corrupt);
  if (typeof h.createdAt !== 'string' || Number.isNaN(Date.parse(h.createdAt))) throw corrupt('createdAt is not a date');
  if (typeof h.fileId !== 'string' || !/^[0-9a-f]{32}$/.test(h.fileId)) throw corrupt('fileId is not 32 hex digits');
  if (!isSafeCount(h.chunkSize)) throw corrupt('chunkSize is not an integer');
  if (h.chunkSize < MIN_CHUNK_SIZE || h.chunkSize > MAX_CHUNK_SIZE) throw unsupported(`chunk size ${h.chunkSize} outside [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}]`);

  const c = h.compression;
  if (!isPlainObject(c) || !Number.isInteger(c.id) || typeof c.name !== 'string' || !Number.isInteger(c.level)) throw corrupt('compression is malformed');
  const codec = compressionCodecs.byId(c.id as number);
  if (!codec || codec.name !== c.name) throw unsupported(`compression ${c.name} (id ${String(c.id)}) is not supported by this version`);
  if ((c.level as number) < codec.minLevel || (c.level as number) > codec.maxLevel) throw unsupported(`${codec.name} level ${String(c.level)} is not supported`);
  const compression: CompressionInfo = { id: codec.id, name: codec.name, level: c.level as number };

  const e = h.cipher;
  if (!isPlainObject(e) || !Number.isInteger(e.id) || typeof e.name !== 'string') throw corrupt('cipher is malformed');
  const suite = cipherSuites.byId(e.id as number);
  if (!suite || suite.name !== e.name) throw unsupported(`cipher ${e.name} (id ${String(e.id)}) is not supported by this version`);
  let cipher: CipherInfo;
  if (suite.id === 0) {
    cipher = { id: 0, name: 'none' };
  } else {
    if (typeof e.keyId !== 'string' || !/^[0-9a-f]{32}$/.test(e.keyId)) throw corrupt('cipher.keyId is not 32 hex digits');
    if (base64Length(e.salt) !== FILE_SALT_LENGTH) throw corrupt('cipher.salt is malformed');
    if (base64Length(e.noncePrefix) !== NONCE_PREFIX_LENGTH) throw corrupt('cipher.noncePrefix is malformed');
    let kdf: KdfParams | null = null;
    if (e.kdf !== null) {
      const k = e.kdf;
      if (!isPlainObject(k) || typeof k.name !== 'string') throw corrupt('cipher.kdf is malformed');
      if (k.name !== 'scrypt') throw unsupported(`key derivation ${k.name} is not supported by this version`);
      if (!Number.isInteger(k.N) || !Number.isInteger(k.r) || !Number.isInteger(k.p) || base64Length(k.salt) !== 16) throw corrupt('cipher.kdf is malformed');
      kdf = { name: 'scrypt', N: k.N as number, r: k.r as number, p: k.p as number, salt: k.salt as string };
    }
    cipher = { id: suite.id, name: suite.name, keyId: e.keyId, salt: e.salt as string, noncePrefix: e.noncePrefix as string, kdf };
  }

  return {
    formatVersion,
    kind: h.kind as BackupKind,
    database: h.database as string,
    chainId: h.chainId as string,
    sequence: h.sequence as number,
    baseTxnId: h.baseTxnId as number | null,
    snapshotTxnId: h.snapshotTxnId as number,
    pageSize: h.pageSize as number | null,
    createdAt: h.createdAt,
    fileId: h.fileId,
    chunkSize: h.chunkSize,
    compression,
    cipher,
    meta: h.meta as Record<string, unknown>,
  };
}
