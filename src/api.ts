/**
 * api: the verbs the issue names — `backup`, `restore`, `verify` — over both backup types:
 * `snapshot` (raw pages; fast restore, indexes included) and `backup` (a JSON export of
 * documents, index definitions and identities; smaller and portable; restore rebuilds
 * indexes). Restore and verify read the chain's manifest to know which type it is.
 */
import { backupJson, backupSnapshot, type JsonBackupOptions, type JsonBackupResult, type SnapshotBackupOptions, type SnapshotBackupResult } from './backup/index.js';
import {
  openChain,
  restoreJson,
  restoreSnapshot,
  verifyChain,
  type JsonRestoreOptions,
  type JsonRestoreProgress,
  type RestoreProgress,
  type JsonRestoreResult,
  type SnapshotRestoreOptions,
  type SnapshotRestoreResult,
  type VerifyOptions,
  type VerifyResult,
} from './restore/index.js';

/** BackupOptions: the options of the chosen type (default 'snapshot'). */
export type BackupOptions = (SnapshotBackupOptions & { type?: 'snapshot' }) | (JsonBackupOptions & { type: 'backup' });

/** backup: take one backup of `options.type` (see backupSnapshot and backupJson for the contracts). */
export async function backup(options: SnapshotBackupOptions & { type?: 'snapshot' }): Promise<SnapshotBackupResult>;
export async function backup(options: JsonBackupOptions & { type: 'backup' }): Promise<JsonBackupResult>;
export async function backup(options: BackupOptions): Promise<SnapshotBackupResult | JsonBackupResult> {
  if (options.type === 'backup') {
    const { type: _type, ...rest } = options;
    return backupJson(rest);
  }
  const { type: _type, ...rest } = options;
  return backupSnapshot(rest);
}

/** RestoreOptions: snapshot restore options plus the JSON-only `skipIndexes`; progress of either kind. */
export type RestoreOptions = Omit<SnapshotRestoreOptions, 'onProgress'> &
  Pick<JsonRestoreOptions, 'skipIndexes'> & { onProgress?: (p: RestoreProgress | JsonRestoreProgress) => void };

/** restore: rebuild an environment from a chain of either type (see restoreSnapshot and restoreJson). */
export async function restore(options: RestoreOptions): Promise<SnapshotRestoreResult | JsonRestoreResult> {
  const { sink, manifest, ownSink } = await openChain(options.from);
  if (ownSink) await sink.close();
  if (manifest.type === 'backup') {
    const { compact: _compact, ...rest } = options;
    return restoreJson(rest);
  }
  const { skipIndexes: _skip, ...rest } = options;
  return restoreSnapshot(rest);
}

/** verify: check a chain's files, chunks and hashes, and with `deep` restore and read it (see verifyChain). */
export function verify(options: VerifyOptions): Promise<VerifyResult> {
  return verifyChain(options);
}
