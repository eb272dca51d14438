/**
 * fs-util: file-system helpers shared by the runner, the child and the scenarios:
 * sizes of output trees, page-cache warming and dropping, fsync.
 */
import { execFileSync } from 'node:child_process';
import { constants, existsSync, promises as fsp, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** pathBytes: apparent size in bytes of a file, or of every regular file under a directory. */
export async function pathBytes(p: string): Promise<number> {
  const st = await fsp.lstat(p);
  if (st.isFile()) return st.size;
  if (!st.isDirectory()) return 0;
  let total = 0;
  for (const entry of await fsp.readdir(p, { withFileTypes: true })) {
    total += await pathBytes(path.join(p, entry.name));
  }
  return total;
}

/** listFiles: every regular file at or under `p` (a file yields itself). */
export async function listFiles(p: string): Promise<string[]> {
  const st = await fsp.lstat(p);
  if (st.isFile()) return [p];
  if (!st.isDirectory()) return [];
  const out: string[] = [];
  for (const entry of await fsp.readdir(p, { withFileTypes: true })) {
    out.push(...(await listFiles(path.join(p, entry.name))));
  }
  return out;
}

/**
 * warmPageCache: reads every file at or under `paths` once into a small reused buffer, so
 * their pages are in the OS page cache. read(2) into a buffer does not map the file, so
 * this does not raise the caller's RSS.
 */
export async function warmPageCache(paths: readonly string[]): Promise<number> {
  const buf = Buffer.allocUnsafe(8 << 20);
  let total = 0;
  for (const p of paths) {
    for (const file of await listFiles(p)) {
      const fh = await fsp.open(file, 'r');
      try {
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          total += bytesRead;
        }
      } finally {
        await fh.close();
      }
    }
  }
  return total;
}

/**
 * syncAll: sync(1) — flush every dirty page system-wide, so earlier writes don't land in a
 * timed region. Node has no sync(2) binding; coreutils' binary by absolute path when present.
 */
export function syncAll(): void {
  execFileSync(existsSync('/usr/bin/sync') ? '/usr/bin/sync' : existsSync('/bin/sync') ? '/bin/sync' : 'sync', { stdio: 'ignore' });
}

/**
 * dropPageCache: `sync` then `echo 3 > /proc/sys/vm/drop_caches` (page cache, dentries
 * and inodes). Needs root; throws with the errno otherwise.
 */
export function dropPageCache(): void {
  syncAll();
  writeFileSync('/proc/sys/vm/drop_caches', '3\n');
}

/** canDropPageCache: whether this process may write /proc/sys/vm/drop_caches. */
export async function canDropPageCache(): Promise<boolean> {
  try {
    await fsp.access('/proc/sys/vm/drop_caches', constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** fsyncPath: fsync a file, or every file under a directory and the directories themselves. */
export async function fsyncPath(p: string): Promise<void> {
  const st = await fsp.lstat(p);
  if (st.isDirectory()) {
    for (const entry of await fsp.readdir(p)) await fsyncPath(path.join(p, entry));
  } else if (!st.isFile()) {
    return;
  }
  const fh = await fsp.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** freeBytes: bytes available to unprivileged users on the filesystem holding `p`. */
export function freeBytes(p: string): { free: number; total: number } {
  const s = statfsSync(p);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}

/** removeTree: rm -rf that never throws for a missing path. */
export async function removeTree(p: string): Promise<void> {
  await fsp.rm(p, { recursive: true, force: true, maxRetries: 3 });
}
