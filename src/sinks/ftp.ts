/**
 * ftp: the `ftp://` and `ftps://` sinks (basic-ftp). `ftps://` is explicit TLS (AUTH TLS
 * on the plain port, then TLS on every data connection); `options.caCert` trusts a private
 * CA and `options.insecureTls` accepts a self-signed certificate (tests only).
 *
 * URL: `ftp://user@host:port/base/path`. The path is taken as absolute on the server (most
 * servers chroot users, so `/` is the user's root). The password comes from
 * `options.credentials.password` (or the URL's password part, discouraged: URLs end up in
 * shell history); it never appears in `name` or in an error message.
 *
 * Puts upload `<key>.<pid>@<host>.in-progress`, then rename it to `<key>` (RNFR/RNTO), so nothing
 * partial is ever under a key; a failed or aborted put closes its connection and deletes
 * the in-progress file, and `list` never reports `*.in-progress` files. FTP has no
 * "rename unless the target exists": without `overwrite`, put checks the key first (SIZE)
 * and refuses if it exists, but a second writer putting the same key between that check
 * and the rename is not detected (backup keys are unique per chain, so two writers of one
 * key are already a bug). With `overwrite`, RNTO replaces the target atomically on POSIX
 * servers; servers whose RNTO refuses an existing target get delete + rename.
 *
 * basic-ftp's Client runs one command at a time, so metadata operations share one control
 * connection behind a promise queue, and every put and get opens its own connection (a
 * slow reader of one get must not block the others; cutting a range short or aborting a put
 * closes only that connection).
 */
import { posix } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { Client, FTPError, type AccessOptions, type FileInfo } from 'basic-ftp';
import { AbortedError, DestinationNotEmptyError, InvalidArgumentError, IoError, NotFoundError, isPagevaultError } from '../errors.js';
import { ByteCounter } from '../util/byte-counter.js';
import type { SinkOpenOptions } from './open-options.js';
import { inProgressName, isInProgress, sweepAbandonedFiles } from './in-progress.js';
import { checkKey, type ObjectInfo, type PutResult, type Sink, type SinkProperties } from './sink.js';

const TIMEOUT_MS = 30_000;

/** createFtpSink: a Sink for an `ftp://` or `ftps://` URL (see the module comment). Connects lazily. */
export function createFtpSink(url: URL, options: SinkOpenOptions): Sink {
  return new FtpSink(url, options);
}

/** FtpSink: see the module comment. Safe for concurrent calls; `close()` is idempotent. */
export class FtpSink implements Sink {
  readonly name: string;
  readonly properties: SinkProperties = { atomicPut: true, rangeReads: true };
  readonly #access: AccessOptions;
  readonly #base: string;
  #shared: Client | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #open = new Set<Client>();
  #closed = false;

  constructor(url: URL, options: SinkOpenOptions) {
    const scheme = url.protocol.replace(/:$/, '');
    if (scheme !== 'ftp' && scheme !== 'ftps') throw new InvalidArgumentError(`Expected an ftp:// or ftps:// URL but received ${scheme}://`);
    const user = decodeURIComponent(url.username) || 'anonymous';
    const port = url.port ? Number(url.port) : 21;
    const base = posix.normalize(decodeURIComponent(url.pathname || '/')).replace(/\/+$/, '');
    this.#base = base === '' || base === '.' ? '' : base.startsWith('/') ? base : `/${base}`;
    this.name = `${scheme}://${encodeURIComponent(user)}@${url.hostname}:${port}${this.#base || '/'}`;
    const password = options.credentials.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
    this.#access = {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      user,
      password: password ?? 'anonymous@',
      secure: scheme === 'ftps',
      secureOptions: scheme === 'ftps' ? { ca: options.caCert, rejectUnauthorized: !options.insecureTls } : undefined,
    };
  }

  #path(key: string): string {
    return `${this.#base}/${checkKey(key)}`;
  }

  async #connect(): Promise<Client> {
    if (this.#closed) throw new IoError(`${this.name} is closed`);
    const client = new Client(TIMEOUT_MS);
    this.#open.add(client);
    try {
      await client.access(this.#access);
    } catch (err) {
      this.#drop(client);
      throw this.#wrap(err, 'connecting');
    }
    return client;
  }

  #drop(client: Client): void {
    client.close();
    this.#open.delete(client);
    if (this.#shared === client) this.#shared = undefined;
  }

  /** #run: `fn` on the shared control connection, one at a time (reconnects after a failure). */
  #run<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const task = this.#queue.then(async () => {
      if (!this.#shared || this.#shared.closed) this.#shared = await this.#connect();
      const client = this.#shared;
      try {
        return await fn(client);
      } catch (err) {
        if (!(err instanceof FTPError) && !isPagevaultError(err)) this.#drop(client); // connection-level failure: start over next time
        throw err;
      }
    });
    this.#queue = task.catch(() => undefined);
    return task;
  }

  async put(key: string, body: Readable, options: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<PutResult> {
    const final = this.#path(key);
    const temp = inProgressName(final);
    if (options.signal?.aborted) throw new AbortedError(`put ${key} aborted`);
    const counter = new ByteCounter();
    let onAbort: (() => void) | undefined;
    // Listen for a source failure or an abort from the start (connecting takes a while).
    const failed = new Promise<never>((_, reject) => {
      body.once('error', reject);
      counter.once('error', reject);
      onAbort = () => reject(new AbortedError(`put ${key} aborted`));
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    failed.catch(() => undefined); // may settle after the put is over: never unhandled
    let client: Client | undefined;
    const connecting = this.#connect();
    connecting.catch(() => undefined);
    try {
      client = await Promise.race([connecting, failed]);
      await Promise.race([client.ensureDir(posix.dirname(final)), failed]);
      if (!options.overwrite && (await sizeOf(client, final)) !== undefined) throw new DestinationNotEmptyError(`${key} already exists in ${this.name}; backup files are never overwritten`);
      body.pipe(counter);
      const upload = client.uploadFrom(counter, temp);
      upload.catch(() => undefined); // settled through the race below; closing the client rejects it late
      await Promise.race([upload, failed]);
      if (!options.overwrite && (await sizeOf(client, final)) !== undefined) throw new DestinationNotEmptyError(`${key} already exists in ${this.name}; backup files are never overwritten`);
      try {
        await client.rename(temp, final);
      } catch (err) {
        if (!options.overwrite || !(err instanceof FTPError)) throw err;
        await client.remove(final);
        await client.rename(temp, final);
      }
    } catch (err) {
      body.unpipe(counter);
      counter.destroy();
      if (client) this.#drop(client); // closes the data connection of an unfinished upload
      else connecting.then((c) => this.#drop(c), () => undefined);
      await this.#run((c) => c.remove(temp)).catch(() => undefined);
      throw this.#wrap(err, `put ${key}`);
    } finally {
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
      if (client) this.#drop(client);
    }
    return { key, size: counter.bytes };
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const path = this.#path(key);
    await this.stat(key);
    const start = range?.start ?? 0;
    let remaining = range?.end === undefined ? Infinity : range.end - start + 1;
    const client = await this.#connect();
    const out = new PassThrough();
    let done = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      if (err) out.destroy(this.#wrap(err, `get ${key}`) as Error);
      else out.end();
      this.#drop(client);
    };
    if (remaining <= 0) {
      finish();
      return out;
    }
    const sinkStream = new Writable({
      write(chunk: Buffer, _enc, cb): void {
        if (done) return cb();
        const piece = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
        remaining -= piece.length;
        const ok = out.write(piece);
        if (remaining <= 0) {
          finish(); // the range is complete: cut the transfer by closing its connection
          return cb();
        }
        if (ok) cb();
        else out.once('drain', () => cb());
      },
    });
    out.once('close', () => finish());
    client.downloadTo(sinkStream, path, start).then(
      () => finish(),
      (err: unknown) => finish(err),
    );
    return out;
  }

  async stat(key: string): Promise<ObjectInfo> {
    const path = this.#path(key);
    try {
      return await this.#run(async (c) => {
        const size = await sizeOf(c, path);
        if (size === undefined) throw new NotFoundError(`no object ${key} in ${this.name}`);
        const modified = await c.lastMod(path).catch(() => new Date(0));
        return { key, size, modified };
      });
    } catch (err) {
      throw this.#wrap(err, `stat ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for await (const { key, entry: e } of this.#files(prefix)) {
      if (isInProgress(e.name)) continue;
      let modified = e.modifiedAt;
      if (!modified) {
        const parsed = Date.parse(e.rawModifiedAt);
        modified = Number.isNaN(parsed) ? await this.#run((c) => c.lastMod(`${this.#base}/${key}`)).catch(() => new Date(0)) : new Date(parsed);
      }
      yield { key, size: e.size, modified };
    }
  }

  /** sweepAbandoned: removes the in-progress files of puts whose process on this machine is gone (see in-progress.ts). */
  async sweepAbandoned(): Promise<string[]> {
    return sweepAbandonedFiles(this.#files(''), ({ key }) => this.remove(key));
  }

  /** #files: every file whose key starts with `prefix`, in-progress ones included. */
  async *#files(prefix: string): AsyncIterable<{ key: string; entry: FileInfo }> {
    // Start at the deepest folder the prefix names (`chain-a/` lists only `chain-a`).
    const slash = prefix.lastIndexOf('/');
    const pending = [slash > 0 ? prefix.slice(0, slash) : ''];
    while (pending.length > 0) {
      const rel = pending.pop() as string;
      const dir = rel ? `${this.#base}/${rel}` : this.#base || '/';
      let entries: FileInfo[];
      try {
        entries = await this.#run((c) => c.list(dir));
      } catch (err) {
        if (err instanceof FTPError && err.code >= 400 && err.code < 600) continue; // a missing folder lists nothing
        throw this.#wrap(err, `listing ${dir}`);
      }
      for (const e of entries) {
        if (e.name === '.' || e.name === '..') continue;
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) pending.push(key);
        } else if (e.isFile && key.startsWith(prefix)) {
          yield { key, entry: e };
        }
      }
    }
  }

  async remove(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await this.#run((c) => c.remove(path));
    } catch (err) {
      if (err instanceof FTPError && err.code === 550) return;
      throw this.#wrap(err, `remove ${key}`);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#open) c.close();
    this.#open.clear();
    this.#shared = undefined;
  }

  /** #wrap: pagevault errors pass through; FTP 550 is NotFoundError, others IoError naming the sink (never the password). */
  #wrap(err: unknown, what: string): unknown {
    if (isPagevaultError(err)) return err;
    if (err instanceof FTPError && err.code === 550) return new NotFoundError(`${what} in ${this.name}: ${err.message}`, { cause: err });
    if (err instanceof FTPError && err.code === 530) return new IoError(`${what} in ${this.name}: login refused (wrong user or password)`, { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    return new IoError(`${what} in ${this.name}: ${message}`, { cause: err });
  }
}

/** sizeOf: the size of a file, or undefined if the server says it does not exist (550). */
async function sizeOf(client: Client, path: string): Promise<number | undefined> {
  try {
    return await client.size(path);
  } catch (err) {
    if (err instanceof FTPError && err.code === 550) return undefined;
    // ftp-srv answers SIZE of an empty file with a text instead of 0 (its reply falls back
    // to a default message for a falsy size); read the size from the folder listing instead.
    if (err instanceof Error && !(err instanceof FTPError) && /parse response/.test(err.message)) {
      const entries = await client.list(posix.dirname(path));
      const entry = entries.find((e) => e.name === posix.basename(path) && e.isFile);
      return entry?.size;
    }
    throw err;
  }
}
