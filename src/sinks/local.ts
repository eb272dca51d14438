/**
 * local: the `file://` sink, a folder on any filesystem the machine can reach.
 *
 * A put writes `<key>.in-progress`, fsyncs it, renames it to `<key>` and fsyncs the
 * folder, so a crash at any moment leaves either no file or a complete one under the final
 * name; `*.in-progress` files are never listed and are removed when a put fails.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, unlink, link } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DestinationNotEmptyError, IoError, NotFoundError } from '../errors.js';
import { ByteCounter } from '../util/byte-counter.js';
import { pathExists } from '../util/files.js';
import { inProgressName, isInProgress, sweepAbandonedFiles } from './in-progress.js';
import { checkKey, type ObjectInfo, type PutResult, type Sink, type SinkProperties } from './sink.js';


/**
 * LOCAL_READ_BYTES: the read size of local gets. Node's default (64 KiB) splits every compressed frame of a backup
 * file (about 1 MiB) into many reads whose per-chunk stream, queue and copy costs add up: decoding a small
 * full + 10 incremental chain took 0.70–0.78 s with 64 KiB reads and 0.43–0.50 s with 1 MiB reads (same run).
 */
const LOCAL_READ_BYTES = 1024 * 1024;

/** LocalSink: see the module comment. `root` is created on first put. */
export class LocalSink implements Sink {
  readonly name: string;
  readonly root: string;
  readonly properties: SinkProperties = { atomicPut: true, rangeReads: true };

  constructor(root: string) {
    this.root = resolve(root);
    this.name = `file://${this.root}`;
  }

  #path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async put(key: string, body: Readable, options: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<PutResult> {
    const final = this.#path(key);
    // The writer's pid and host in the name let sweepAbandoned tell a put that died with its process from one in progress.
    const temp = inProgressName(final);
    await mkdir(dirname(final), { recursive: true });
    if (!options.overwrite && (await pathExists(final))) throw new DestinationNotEmptyError(`${final} already exists; backup files are never overwritten`);
    const counter = new ByteCounter();
    try {
      const out = createWriteStream(temp, { flags: 'w', mode: 0o644 });
      await pipeline(body, counter, out, { signal: options.signal });
      await fsyncPath(temp);
      if (options.overwrite) await rename(temp, final);
      else {
        // link() fails if `final` appeared meanwhile: never replace a file another writer put.
        await link(temp, final);
        await unlink(temp);
      }
      await fsyncPath(dirname(final));
    } catch (err) {
      await rm(temp, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new DestinationNotEmptyError(`${final} already exists; backup files are never overwritten`);
      throw wrapIo(err, `writing ${final}`);
    }
    return { key, size: counter.bytes };
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const path = this.#path(key);
    await this.stat(key);
    return createReadStream(path, { highWaterMark: LOCAL_READ_BYTES, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async stat(key: string): Promise<ObjectInfo> {
    const path = this.#path(key);
    try {
      const s = await stat(path);
      if (!s.isFile()) throw new NotFoundError(`${path} is not a file`);
      return { key, size: s.size, modified: s.mtime };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new NotFoundError(`no object ${key} in ${this.name}`, { cause: err });
      throw wrapIo(err, `stat ${path}`);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const { key, full } of await this.#walk(prefix)) {
      const s = await stat(full).catch(() => undefined);
      if (s) yield { key, size: s.size, modified: s.mtime };
    }
  }

  /** listKeys: the keys `list` would give, without a stat per file (chain discovery needs only names). */
  async *listKeys(prefix: string): AsyncIterable<string> {
    for (const { key } of await this.#walk(prefix)) yield key;
  }

  /** The finished files under `prefix`, read from the deepest folder the prefix names (not the whole tree). */
  async #walk(prefix: string): Promise<Array<{ key: string; full: string }>> {
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const files = await this.#files(folder);
    return files.filter((f) => !isInProgress(f.key) && f.key.startsWith(prefix));
  }

  /** Every file under `folder` ('' = the root), in progress or not, with its key and full path. */
  async #files(folder: string): Promise<Array<{ key: string; full: string }>> {
    const start = folder ? join(this.root, ...folder.split('/')) : this.root;
    let entries;
    try {
      entries = await readdir(start, { recursive: true, withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw wrapIo(err, `listing ${start}`);
    }
    return entries
      .filter((e) => e.isFile())
      .map((e) => {
        const full = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
        return { key: relative(this.root, full).split(sep).join('/'), full };
      });
  }

  /**
   * sweepAbandoned: removes the in-progress files of puts whose process on this machine is gone (killed mid-put: a
   * finished or failed put leaves none; see in-progress.ts), and returns their keys. A file of a live process, of
   * this one, of another machine or without a pid is left alone. They are never listed or read, so this only frees
   * space.
   */
  async sweepAbandoned(): Promise<string[]> {
    return sweepAbandonedFiles(await this.#files(''), ({ full }) => rm(full, { force: true }), { legacyPid: true });
  }

  async remove(key: string): Promise<void> {
    const path = this.#path(key);
    await rm(path, { force: true });
    // Folders exist only to hold objects (object stores have none): drop the ones left empty, up to the root.
    for (let dir = dirname(path); dir !== this.root && dir.startsWith(this.root + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty (or already gone): stop
      }
    }
  }

  async close(): Promise<void> {}
}


/** fsyncPath: fsync a file or a directory (a rename is durable only once its folder is). */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** wrapIo: an errno error from the OS becomes an IoError (cause kept); pagevault and abort errors pass through. */
function wrapIo(err: unknown, what: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && typeof code === 'string' && !code.startsWith('PAGEVAULT_') && code !== 'ABORT_ERR') {
    return new IoError(`${what}: ${err.message}`, { cause: err });
  }
  return err;
}
