/**
 * files: small file-system helpers several modules share.
 * - `pathExists`: whether something is at a path (any kind of entry).
 * - `writeFileAtomicSync`: replace a small file so a crash leaves the old or the new
 *   content, never a torn one: write `<file>.tmp` (mode `mode`), fsync it, rename it over
 *   `file`, fsync the folder. Used for the server's state and key files.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export function writeFileAtomicSync(file: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
