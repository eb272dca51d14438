/**
 * naming: names of chain folders and backup files, RavenDB style, as pure functions.
 * Names sort in time (UTC, fixed width, no characters filesystems or object stores
 * dislike) and say what they are:
 *
 *   <UTC time>.<database>.snapshot/                 one folder per chain
 *     <UTC time>.full-snapshot[.encrypted]          the chain's first file
 *     <UTC time>.incremental-snapshot[.encrypted]   each later file
 *     manifest.json                                 the chain manifest (manifest.ts)
 *
 * UTC time is `YYYY-MM-DDTHH-MM-SS.mmmZ`. Restore never parses these names: it reads the
 * manifest; names are for people and for sorting.
 */
import { InvalidArgumentError } from '../errors.js';

/** BackupType: what a chain holds. `backup` (JSON) arrives with issue 4. */
export type BackupType = 'snapshot' | 'backup';

/** FileKind: what one file of a chain is. */
export type FileKind = 'full-snapshot' | 'incremental-snapshot' | 'full-backup' | 'incremental-backup';

export const MANIFEST_NAME = 'manifest.json';

/** utcStamp: `2026-11-25T09-01-02.123Z` for `date`. */
export function utcStamp(date: Date): string {
  return date.toISOString().replace(/:/g, '-');
}

/** parseUtcStamp: the Date of a stamp made by utcStamp, or undefined. */
export function parseUtcStamp(stamp: string): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})Z$/.exec(stamp);
  if (!m) return undefined;
  const d = new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** safeDatabaseName: a database name reduced to `[A-Za-z0-9_-]`, 1-64 characters. */
export function safeDatabaseName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  if (!s) throw new InvalidArgumentError(`Expected a database name with letters or digits but received ${JSON.stringify(name)}`);
  return s;
}

/** chainFolderName: the folder of a chain started at `date`. */
export function chainFolderName(date: Date, database: string, type: BackupType): string {
  return `${utcStamp(date)}.${safeDatabaseName(database)}.${type}`;
}

/** parseChainFolderName: the parts of a chain folder name, or undefined for other names. */
export function parseChainFolderName(name: string): { started: Date; database: string; type: BackupType } | undefined {
  const m = /^(.+Z)\.([A-Za-z0-9_-]+)\.(snapshot|backup)$/.exec(name);
  if (!m) return undefined;
  const started = parseUtcStamp(m[1]);
  return started ? { started, database: m[2], type: m[3] as BackupType } : undefined;
}

/** backupFileName: the name of a file of kind `kind` taken at `date`. */
export function backupFileName(date: Date, kind: FileKind, encrypted: boolean): string {
  return `${utcStamp(date)}.${kind}${encrypted ? '.encrypted' : ''}`;
}
