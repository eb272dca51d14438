/**
 * api: the verbs the issue names — `backup`, `restore`, `verify` — over both backup types.
 * Today only the snapshot type exists; `type: 'backup'` (JSON) arrives with issue 4 and is
 * refused with a clear error until then, so callers can already write `backup({ type })`.
 */
import { backupSnapshot, type SnapshotBackupOptions, type SnapshotBackupResult } from './backup/index.js';
import { InvalidArgumentError } from './errors.js';
import { restoreSnapshot, verifyChain, type SnapshotRestoreOptions, type SnapshotRestoreResult, type VerifyOptions, type VerifyResult } from './restore/index.js';

/** BackupOptions: SnapshotBackupOptions plus the backup type (default 'snapshot'). */
export type BackupOptions = SnapshotBackupOptions & { type?: 'snapshot' | 'backup' };

/** backup: take one backup of `options.type` (see backupSnapshot for the snapshot contract). */
export async function backup(options: BackupOptions): Promise<SnapshotBackupResult> {
  const { type = 'snapshot', ...rest } = options;
  if (type !== 'snapshot') throw new InvalidArgumentError(`backup type ${JSON.stringify(type)} is not available yet; use 'snapshot'`);
  return backupSnapshot(rest);
}

/** restore: rebuild an environment from a chain (see restoreSnapshot). */
export function restore(options: SnapshotRestoreOptions): Promise<SnapshotRestoreResult> {
  return restoreSnapshot(options);
}

/** verify: check a chain's files, chunks and hashes, and with `deep` restore and read it (see verifyChain). */
export function verify(options: VerifyOptions): Promise<VerifyResult> {
  return verifyChain(options);
}
