/**
 * manifest: the chain manifest, `manifest.json` in each chain folder. It lists every file
 * of the chain in order with the transaction ids it covers, its size and hash, so restore
 * and verify never guess from file names. It is rewritten (atomically, by the sink) after
 * each file completes; a file that is not in the manifest is not part of the chain.
 *
 * Layout (version 1):
 * {
 *   "format": "pagevault-chain", "version": 1,
 *   "chainId": uuid, "type": "snapshot",
 *   "database": { "name", "path", "dev", "ino", "documentDbId"? },
 *   "pageSize", "lmdbFormat": { "dataVersion", "pageHeaderSize" },
 *   "encrypted": bool, "keyId": hex | null, "kdf": scrypt params | null,
 *   "compression": "zstd" | "gzip" | "none",
 *   "created": ISO time,
 *   "manual": true (one-time backups only; absent otherwise),
 *   "files": [ { "name", "kind", "seq", "baseTxnId", "txnId", "lastPage", "size", "sha256",
 *                "created", "pages", "plaintextBytes",
 *                JSON backups also: "lastEtag", "baseEtag", "records", "docs" } ]
 * A JSON chain ("type": "backup") records the page size and format of the source for
 * information only; its files hold JSON records (src/json/records.ts), not pages.
 * }
 */
import { ChainBrokenError, ChainMismatchError, UnsupportedBackupError } from '../errors.js';
import type { KdfParams } from '../keys/index.js';
import type { BackupType, FileKind } from './naming.js';

/** ManifestFile: one file of a chain. */
export interface ManifestFile {
  name: string;
  kind: FileKind;
  /** 0 for the full, then 1, 2, … */
  seq: number;
  /** Transaction the file is relative to (0 for a full). */
  baseTxnId: number;
  /** Transaction id of the snapshot the file brings the database to. */
  txnId: number;
  lastPage: number;
  size: number;
  sha256: string;
  created: string;
  pages: number;
  plaintextBytes: number;
  /** JSON backups of document databases: the highest etag the file carries up to (its snapshot's last etag). */
  lastEtag?: number | null;
  /** JSON backups: documents and tombstones above this etag are in the file (null for a full). */
  baseEtag?: number | null;
  /** JSON backups: records, documents, tombstones and entries the file holds. */
  records?: number;
  docs?: number;
  /** Snapshots of data format 1 environments: the `.pagehashes` object beside this file (page-hash-diff.ts). */
  pageHashes?: string;
}

/** DatabaseIdentity: what ties a chain to one environment (replacing the file changes dev/ino). */
export interface DatabaseIdentity {
  name: string;
  path: string;
  dev: number;
  ino: number;
  documentDbId?: string;
}

/** ChainManifest: see the layout above. */
export interface ChainManifest {
  format: 'pagevault-chain';
  version: 1;
  chainId: string;
  type: BackupType;
  database: DatabaseIdentity;
  pageSize: number;
  lmdbFormat: { dataVersion: number; pageHeaderSize: number };
  encrypted: boolean;
  keyId: string | null;
  /** For a passphrase key: the scrypt parameters and salt, so later files of the chain derive the same key. */
  kdf?: KdfParams | null;
  compression: string;
  created: string;
  /** A one-time (manual) backup's chain: never subject to retention, never extended by task backups. */
  manual?: boolean;
  files: ManifestFile[];
}

/** parseManifest: validate a manifest's JSON text; throws ChainBrokenError / UnsupportedBackupError. */
export function parseManifest(text: string, where: string): ChainManifest {
  let m: ChainManifest;
  try {
    m = JSON.parse(text) as ChainManifest;
  } catch (err) {
    throw new ChainBrokenError(`${where}: manifest is not valid JSON (${(err as Error).message})`);
  }
  if (m?.format !== 'pagevault-chain') throw new ChainBrokenError(`${where}: not a pagevault chain manifest`);
  if (m.version !== 1) throw new UnsupportedBackupError(`${where}: chain manifest version ${String(m.version)} is not supported (this pagevault reads 1)`);
  if (!Array.isArray(m.files)) throw new ChainBrokenError(`${where}: manifest has no file list`);
  checkChainOrder(m, where);
  return m;
}

/** checkChainOrder: files must be one full then incrementals, each based on its predecessor's txn. */
export function checkChainOrder(m: ChainManifest, where: string): void {
  m.files.forEach((f, i) => {
    if (f.seq !== i) throw new ChainMismatchError(`${where}: file ${f.name} has sequence ${f.seq}, expected ${i}`);
    if (i === 0 ? !f.kind.startsWith('full-') : !f.kind.startsWith('incremental-')) throw new ChainMismatchError(`${where}: file ${f.name} (${f.kind}) cannot be number ${i} of a chain`);
    if (i > 0 && f.baseTxnId !== m.files[i - 1].txnId) {
      throw new ChainMismatchError(`${where}: file ${f.name} is based on txn ${f.baseTxnId}, but its predecessor ends at txn ${m.files[i - 1].txnId}`);
    }
  });
}

/** serializeManifest: stable, readable JSON. */
export function serializeManifest(m: ChainManifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** ensureChainMatches: a header read from a chain file must belong to that chain at that position. */
export function ensureChainMatches(manifest: ChainManifest, file: ManifestFile, header: { chainId: string; sequence: number; snapshotTxnId: number }, where: string): void {
  if (header.chainId !== manifest.chainId || header.sequence !== file.seq || header.snapshotTxnId !== file.txnId) {
    throw new ChainMismatchError(`${where} does not belong to this chain at position ${file.seq} (it says chain ${header.chainId}, position ${header.sequence}, txn ${header.snapshotTxnId})`);
  }
}

/** NewChainInit: what the first file of a new chain records about it. */
export interface NewChainInit {
  chainId: string;
  type: BackupType;
  database: DatabaseIdentity;
  pageSize: number;
  lmdbFormat: { dataVersion: number; pageHeaderSize: number };
  key: { id: string; kdf?: KdfParams | null } | undefined;
  compression: string;
  created: Date;
  manual?: boolean;
}

/** withFile: `existing` with `entry` appended, or a new chain (described by `init`) holding just `entry`. */
export function withFile(existing: ChainManifest | undefined, entry: ManifestFile, init: NewChainInit): ChainManifest {
  if (existing) return { ...existing, files: [...existing.files, entry] };
  return {
    format: 'pagevault-chain',
    version: 1,
    chainId: init.chainId,
    type: init.type,
    database: init.database,
    pageSize: init.pageSize,
    lmdbFormat: init.lmdbFormat,
    encrypted: init.key !== undefined,
    keyId: init.key?.id ?? null,
    kdf: init.key?.kdf ?? null,
    compression: init.compression,
    created: init.created.toISOString(),
    ...(init.manual ? { manual: true } : {}),
    files: [entry],
  };
}
