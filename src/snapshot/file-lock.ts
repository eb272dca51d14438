/**
 * file-lock: exclusive advisory locks on files (flock(2), native), released by the kernel
 * when the holder exits or dies. Used for "one backup of a database at a time"
 * (src/backup/lock.ts); never on LMDB's lock.mdb. Lives here because snapshot/ owns the
 * native seam.
 */
import { loadBinding } from '../native/binding.js';

/** tryLockFile: the locked descriptor of `path` (created if missing), or null if another holder has it. Synchronous. */
export function tryLockFile(path: string): number | null {
  return loadBinding().tryLockFile(path);
}

/** unlockFile: release a lock taken by tryLockFile and close its descriptor. */
export function unlockFile(fd: number): void {
  loadBinding().unlockFile(fd);
}
