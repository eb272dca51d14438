/**
 * backup: taking backups (page snapshots and JSON backups): chains on a destination,
 * their names and manifests, and the one-backup-per-database lock.
 */
export { backupSnapshot } from './snapshot-backup.js';
export type { SnapshotBackupOptions, SnapshotBackupResult, BackupProgress, DestinationUpload } from './snapshot-backup.js';
export { backupJson } from './json-backup.js';
export type { JsonBackupOptions, JsonBackupResult, JsonBackupProgress } from './json-backup.js';
export { listAllChains, listChains, readManifest } from './chain-store.js';
export { openDestinations, type Destination, type Destinations } from './destinations.js';
export type { ChainRef } from './chain-store.js';
export type { ChainManifest, ManifestFile, DatabaseIdentity } from './manifest.js';
export { chainFolderName, backupFileName, utcStamp, MANIFEST_NAME } from './naming.js';
export type { BackupType, FileKind } from './naming.js';
