/**
 * sftp: the `sftp://user@host:port/base/path` sink (ssh2-sftp-client over ssh2).
 *
 * Authentication: `options.credentials.password`, or a private key (`privateKey` PEM/OpenSSH
 * text or `privateKeyPath`, optional `passphrase`); the URL's password part works but is
 * discouraged. No credential appears in `name` or in an error message.
 *
 * Host key: `?hostKeySha256=<base64>` (the `SHA256:…` fingerprint `ssh-keygen -lf` prints,
 * with or without the prefix) pins the server's host key, and a different key is refused
 * before authenticating. WITHOUT it ANY host key is accepted (no known_hosts is read), so a
 * man in the middle could receive the backup: pin the key outside of tests.
 *
 * The path is absolute on the server. Puts write `<key>.<pid>@<host>.in-progress` and rename it to
 * `<key>`, so nothing partial is ever under a key; a failed or aborted put destroys its
 * write stream and deletes the in-progress file, and `list` never reports in-progress
 * files. Without `overwrite` the plain SFTP RENAME is used, which fails if the target exists
 * (OpenSSH implements it with link + unlink), so a concurrent writer is never replaced.
 * With `overwrite`, `posix-rename@openssh.com` replaces the target atomically where the
 * server offers it; otherwise the old object is deleted first (not atomic: a crash between
 * the two steps leaves only the in-progress file).
 *
 * One SSH connection (opened on first use) carries every operation; SFTP pipelines requests,
 * so operations run concurrently without a queue.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import SftpClient, { type ConnectOptions, type SftpDirEntry, type SftpStats, type SftpWrapper } from 'ssh2-sftp-client';
import { AbortedError, DestinationNotEmptyError, InvalidArgumentError, IoError, NotFoundError, isPagevaultError } from '../errors.js';
import { ByteCounter } from '../util/byte-counter.js';
import type { SinkOpenOptions } from './open-options.js';
import { inProgressName, isInProgress, sweepAbandonedFiles } from './in-progress.js';
import { checkKey, type ObjectInfo, type PutResult, type Sink, type SinkProperties } from './sink.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const NO_SUCH_FILE = 2;
const FAILURE = 4;

/** createSftpSink: a Sink for an `sftp://` URL (see the module comment). Connects lazily. */
export function createSftpSink(url: URL, options: SinkOpenOptions): Sink {
  return new SftpSink(url, options);
}

/** SftpSink: see the module comment. Safe for concurrent calls; `close()` is idempotent. */
export class SftpSink implements Sink {
  readonly name: string;
  readonly properties: SinkProperties = { atomicPut: true, rangeReads: true };
  readonly #url: URL;
  readonly #options: SinkOpenOptions;
  readonly #base: string;
  readonly #pin: string | undefined;
  #client: SftpClient | undefined;
  #connecting: Promise<SftpWrapper> | undefined;
  #posixRename = true;
  #closed = false;

  constructor(url: URL, options: SinkOpenOptions) {
    if (url.protocol !== 'sftp:') throw new InvalidArgumentError(`Expected an sftp:// URL but received ${url.protocol}//`);
    this.#url = url;
    this.#options = options;
    const base = posix.normalize(decodeURIComponent(url.pathname || '/')).replace(/\/+$/, '');
    this.#base = base === '' || base === '.' ? '' : base.startsWith('/') ? base : `/${base}`;
    const pin = url.searchParams.get('hostKeySha256');
    // A `+` of base64 left unencoded in the query reads back as a space; base64 has no spaces.
    this.#pin = pin ? pin.trim().replace(/ /g, '+').replace(/^SHA256:/, '').replace(/=+$/, '') : undefined;
    const user = decodeURIComponent(url.username);
    if (!user) throw new InvalidArgumentError('Expected a user name in the sftp:// URL (sftp://user@host/path)');
    this.name = `sftp://${encodeURIComponent(user)}@${url.hostname}:${url.port || 22}${this.#base || '/'}`;
  }

  #path(key: string): string {
    return `${this.#base}/${checkKey(key)}`;
  }

  #sftp(): Promise<SftpWrapper> {
    if (this.#closed) return Promise.reject(new IoError(`${this.name} is closed`));
    this.#connecting ??= this.#connect().catch((err: unknown) => {
      this.#connecting = undefined;
      throw err;
    });
    return this.#connecting;
  }

  async #connect(): Promise<SftpWrapper> {
    const creds = this.#options.credentials;
    let privateKey: string | Buffer | undefined = creds.privateKey;
    if (!privateKey && creds.privateKeyPath) {
      try {
        privateKey = await readFile(creds.privateKeyPath);
      } catch (err) {
        throw new IoError(`reading the private key for ${this.name}: ${(err as Error).message}`, { cause: err });
      }
    }
    let presented: string | undefined;
    const config: ConnectOptions = {
      host: this.#url.hostname.replace(/^\[|\]$/g, ''),
      port: this.#url.port ? Number(this.#url.port) : 22,
      username: decodeURIComponent(this.#url.username),
      password: creds.password ?? (this.#url.password ? decodeURIComponent(this.#url.password) : undefined),
      privateKey,
      passphrase: creds.passphrase,
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) => {
        presented = createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
        return this.#pin === undefined || presented === this.#pin;
      },
    };
    const client = new SftpClient('pagevault');
    try {
      const sftp = await client.connect(config);
      this.#client = client;
      return sftp;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (this.#pin !== undefined && presented !== undefined && presented !== this.#pin) {
        throw new IoError(`${this.name}: the server's host key SHA256:${presented} does not match the pinned hostKeySha256=SHA256:${this.#pin}; refusing to connect`, { cause: err });
      }
      const message = (err as Error).message ?? String(err);
      if (/authentication/i.test(message)) throw new IoError(`${this.name}: authentication failed (wrong user, password or key)`, { cause: err });
      throw new IoError(`connecting to ${this.name}: ${message}`, { cause: err });
    }
  }

  async put(key: string, body: Readable, options: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<PutResult> {
    const final = this.#path(key);
    const temp = inProgressName(final);
    if (options.signal?.aborted) throw new AbortedError(`put ${key} aborted`);
    const sftp = await this.#sftp();
    if (options.signal?.aborted) throw new AbortedError(`put ${key} aborted`);
    const counter = new ByteCounter();
    let wrote = false;
    try {
      await this.#client?.mkdir(posix.dirname(final), true);
      if (!options.overwrite && (await this.#statOrUndefined(sftp, final))) throw new DestinationNotEmptyError(`${key} already exists in ${this.name}; backup files are never overwritten`);
      wrote = true;
      const out = sftp.createWriteStream(temp, { flags: 'w', mode: 0o644 });
      await pipeline(body, counter, out, { signal: options.signal });
      if (options.overwrite) await this.#replace(sftp, temp, final);
      else {
        try {
          await call<void>((cb) => sftp.rename(temp, final, cb));
        } catch (err) {
          if (await this.#statOrUndefined(sftp, final)) throw new DestinationNotEmptyError(`${key} already exists in ${this.name}; backup files are never overwritten`);
          throw err;
        }
      }
    } catch (err) {
      if (wrote) await call<void>((cb) => sftp.unlink(temp, cb)).catch(() => undefined);
      if ((err as { name?: string }).name === 'AbortError') throw new AbortedError(`put ${key} aborted`);
      throw this.#wrap(err, `put ${key}`);
    }
    return { key, size: counter.bytes };
  }

  /** #replace: rename `temp` over `final` (see the module comment on atomicity). */
  async #replace(sftp: SftpWrapper, temp: string, final: string): Promise<void> {
    if (this.#posixRename) {
      try {
        await call<void>((cb) => sftp.ext_openssh_rename(temp, final, cb));
        return;
      } catch (err) {
        if (!/does not support/i.test((err as Error).message)) throw err;
        this.#posixRename = false;
      }
    }
    await call<void>((cb) => sftp.unlink(final, cb)).catch((err: { code?: unknown }) => {
      if (err.code !== NO_SUCH_FILE) throw err;
    });
    await call<void>((cb) => sftp.rename(temp, final, cb));
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const path = this.#path(key);
    const info = await this.stat(key);
    const sftp = await this.#sftp();
    const start = range?.start ?? 0;
    const end = range?.end === undefined ? undefined : Math.min(range.end, Math.max(info.size - 1, 0));
    if (range && (start >= info.size || (end !== undefined && end < start))) return Readable.from([]);
    return sftp.createReadStream(path, range ? { start, end } : {});
  }

  async stat(key: string): Promise<ObjectInfo> {
    const path = this.#path(key);
    const sftp = await this.#sftp();
    const s = await this.#statOrUndefined(sftp, path).catch((err: unknown) => {
      throw this.#wrap(err, `stat ${key}`);
    });
    if (!s || !s.isFile()) throw new NotFoundError(`no object ${key} in ${this.name}`);
    return { key, size: s.size, modified: new Date(s.mtime * 1000) };
  }

  async #statOrUndefined(sftp: SftpWrapper, path: string): Promise<SftpStats | undefined> {
    try {
      return await call<SftpStats>((cb) => sftp.stat(path, cb));
    } catch (err) {
      if ((err as { code?: unknown }).code === NO_SUCH_FILE) return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for await (const { key, entry: e } of this.#files(prefix)) {
      if (!isInProgress(e.filename)) yield { key, size: e.attrs.size, modified: new Date(e.attrs.mtime * 1000) };
    }
  }

  /** sweepAbandoned: removes the in-progress files of puts whose process on this machine is gone (see in-progress.ts). */
  async sweepAbandoned(): Promise<string[]> {
    return sweepAbandonedFiles(this.#files(''), ({ key }) => this.remove(key));
  }

  /** #files: every file whose key starts with `prefix`, in-progress ones included. */
  async *#files(prefix: string): AsyncIterable<{ key: string; entry: SftpDirEntry }> {
    const sftp = await this.#sftp();
    const slash = prefix.lastIndexOf('/');
    const pending = [slash > 0 ? prefix.slice(0, slash) : ''];
    while (pending.length > 0) {
      const rel = pending.pop() as string;
      const dir = rel ? `${this.#base}/${rel}` : this.#base || '/';
      let entries: SftpDirEntry[];
      try {
        entries = await call<SftpDirEntry[]>((cb) => sftp.readdir(dir, cb));
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === NO_SUCH_FILE || code === FAILURE) continue; // a missing folder lists nothing
        throw this.#wrap(err, `listing ${dir}`);
      }
      for (const e of entries) {
        if (e.filename === '.' || e.filename === '..') continue;
        const key = rel ? `${rel}/${e.filename}` : e.filename;
        if (e.attrs.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) pending.push(key);
        } else if (e.attrs.isFile() && key.startsWith(prefix)) {
          yield { key, entry: e };
        }
      }
    }
  }

  async remove(key: string): Promise<void> {
    const path = this.#path(key);
    const sftp = await this.#sftp();
    try {
      await call<void>((cb) => sftp.unlink(path, cb));
    } catch (err) {
      if ((err as { code?: unknown }).code === NO_SUCH_FILE) return;
      throw this.#wrap(err, `remove ${key}`);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connecting = this.#connecting;
    this.#connecting = undefined;
    if (connecting) await connecting.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  /** #wrap: pagevault errors pass through; SFTP "no such file" is NotFoundError; others IoError naming the sink. */
  #wrap(err: unknown, what: string): unknown {
    if (isPagevaultError(err)) return err;
    if ((err as { code?: unknown }).code === NO_SUCH_FILE) return new NotFoundError(`${what} in ${this.name}: no such file`, { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    return new IoError(`${what} in ${this.name}: ${message}`, { cause: err });
  }
}

/** call: a node-style callback API as a promise. */
function call<T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}
