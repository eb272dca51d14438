/**
 * lock: one backup of a database at a time.
 *
 * The lock is an exclusive flock(2) on `pagevault.lock` beside the database's data file
 * (`<dir>/pagevault.lock`, or `<file>-pagevault.lock` for a noSubdir environment), so
 * every process on the machine that backs up that database agrees on it. The kernel
 * releases it when its holder exits or is killed: a lock left by a dead process is free
 * at once (the takeover the issue asks for, with no staleness guesswork). The file keeps
 * the holder's pid, host and start time for the error message. If the database's folder
 * is read-only, the lock lives in the system temp folder, keyed by the data file's path.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, writeSync, ftruncateSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BackupRunningError, IoError } from '../errors.js';
import { tryLockFile, unlockFile } from '../snapshot/file-lock.js';

/** BackupLock: a held lock; `release()` is idempotent. */
export interface BackupLock {
  readonly path: string;
  release(): void;
}

/** lockPathFor: where the lock of the environment whose data file is `dataFile` lives. */
export function lockPathFor(dataFile: string): string {
  const real = realpathSync(dataFile);
  return real.endsWith('/data.mdb') ? join(dirname(real), 'pagevault.lock') : `${real}-pagevault.lock`;
}

function fallbackLockPath(dataFile: string): string {
  const dir = join(tmpdir(), 'pagevault-locks');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${createHash('sha256').update(realpathSync(dataFile)).digest('hex').slice(0, 32)}.lock`);
}

/**
 * acquireBackupLock: take the backup lock of the environment whose data file is
 * `dataFile`, or throw BackupRunningError naming the holder. `what` describes the work
 * (shown to a second caller).
 */
export function acquireBackupLock(dataFile: string, what: string): BackupLock {
  let path = lockPathFor(dataFile);
  let fd: number | null;
  try {
    fd = tryLockFile(path);
  } catch (err) {
    const code = (err as { errno?: number }).errno;
    // EACCES / EROFS / EPERM: a read-only database folder; lock in the temp folder instead.
    if (code === -13 || code === -30 || code === -1) {
      path = fallbackLockPath(dataFile);
      fd = tryLockFile(path);
    } else throw new IoError(`cannot create the backup lock ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (fd === null) {
    let holder = 'another process';
    try {
      const info = JSON.parse(readFileSync(path, 'utf8')) as { pid: number; host: string; started: string; what: string };
      holder = `pid ${info.pid} on ${info.host} (${info.what}, since ${info.started})`;
    } catch {
      // The holder may not have written its details yet; the generic wording is still right.
    }
    throw new BackupRunningError(`a backup of ${dataFile} is already running: ${holder}`);
  }
  const owner = JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString(), what });
  ftruncateSync(fd, 0);
  writeSync(fd, owner, 0);
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      try {
        ftruncateSync(fd!, 0);
      } catch {
        // Releasing matters more than clearing the details.
      }
      unlockFile(fd!);
    },
  };
}

