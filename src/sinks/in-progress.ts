/**
 * in-progress: the names of the files a put writes before renaming them into place (local folder, FTP, SFTP), and
 * which of them a dead process left behind.
 *
 * A put writes `<key>.<pid>@<host>.in-progress`. A process killed mid-put leaves that file; its name says which
 * process on which machine wrote it, so a later sweep removes it only when that machine is this one and that
 * process is gone. A file written from another machine (a shared folder or server) is never touched: its process
 * cannot be checked from here. Such files are never listed or read, so a sweep only frees space.
 */
import { hostname } from 'node:os';
import { processAlive } from '../util/process.js';

/** IN_PROGRESS: the suffix of every in-progress file. */
export const IN_PROGRESS = '.in-progress';

/** HOST_TAG: this machine's name as it appears in in-progress names (letters, digits and '-'). */
export const HOST_TAG = (hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63) || 'host').replace(/^-+|-+$/g, '') || 'host';

/** inProgressName: the name a put of this process writes `final` under before the rename. */
export function inProgressName(final: string): string {
  return `${final}.${process.pid}@${HOST_TAG}${IN_PROGRESS}`;
}

/** isInProgress: whether `name` (a key or a file name) is an in-progress file, of any writer. */
export function isInProgress(name: string): boolean {
  return name.endsWith(IN_PROGRESS);
}

/**
 * isAbandoned: whether the in-progress file `name` was written on this machine by a process that is gone (and is
 * not this one). With `legacyPid`, the `<key>.<pid>.in-progress` names of older pagevault versions, written to
 * local folders only, count as this machine's.
 */
export function isAbandoned(name: string, options: { legacyPid?: boolean; alive?: (pid: number) => boolean } = {}): boolean {
  const alive = options.alive ?? processAlive;
  const tagged = /\.(\d+)@([A-Za-z0-9-]+)\.in-progress$/.exec(name);
  let pid: number | undefined;
  if (tagged) {
    if (tagged[2] !== HOST_TAG) return false;
    pid = Number(tagged[1]);
  } else if (options.legacyPid === true) {
    const legacy = /\.(\d+)\.in-progress$/.exec(name);
    if (legacy) pid = Number(legacy[1]);
  }
  return pid !== undefined && pid !== process.pid && !alive(pid);
}

/**
 * sweepAbandonedFiles: removes, with `remove`, the files among `files` that `isAbandoned` (with `options`) says a
 * dead process of this machine left, and returns their keys. The one sweep loop of the local, FTP and SFTP sinks.
 */
export async function sweepAbandonedFiles<T extends { key: string }>(
  files: AsyncIterable<T> | Iterable<T>,
  remove: (file: T) => Promise<void>,
  options: { legacyPid?: boolean } = {},
): Promise<string[]> {
  const removed: string[] = [];
  for await (const file of files) {
    if (!isAbandoned(file.key, options)) continue;
    await remove(file);
    removed.push(file.key);
  }
  return removed;
}
