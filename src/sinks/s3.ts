/**
 * s3: the `s3://` sink (AWS S3 and S3-compatible servers: MinIO, Ceph, s3rver, Wasabi…)
 * and the `gs://` sink (Google Cloud Storage through the same class).
 *
 * URL: `s3://bucket/optional/prefix?region=us-east-1&endpoint=http://127.0.0.1:4568
 * &forcePathStyle=true&storageClass=STANDARD_IA&partSize=8MiB&queueSize=4&maxAttempts=5`.
 * Object keys are `prefix + key`. Credentials come only from `SinkOpenOptions.credentials`
 * (accessKeyId, secretAccessKey, sessionToken) or, when none are given, the SDK's default
 * provider chain; a URL carrying user info is refused, and no credential ever appears in
 * `name` or in an error message (messages are also scrubbed of every credential value).
 *
 * Storage classes: STANDARD, STANDARD_IA, GLACIER, DEEP_ARCHIVE, GLACIER_IR. GLACIER and
 * DEEP_ARCHIVE are the Glacier destination: the objects must be restored (S3
 * RestoreObject) before `get` can read them; GLACIER_IR reads immediately.
 *
 * put: one `@aws-sdk/lib-storage` `Upload` per object: parts of `partSize` bytes (default
 * 16 MiB), `queueSize` (default 4) of them in flight, so memory is bounded by about
 * partSize × queueSize per put. S3 allows 10,000 parts, so the default part size stores
 * objects up to 156 GiB; a caller that knows the size passes `sizeHint` (the part size
 * then grows to at least size / 10,000) or sets `?partSize=`. A body smaller than one part
 * is sent as a single PutObject. Any failure (source error, service error, abort) aborts
 * the multipart upload (`leavePartsOnError: false`), so no orphan parts stay billed.
 * An AbortSignal destroys the source stream instead of calling `Upload.abort()`: that
 * way lib-storage's failure path runs to its end (in-flight parts settle, then
 * AbortMultipartUpload is sent) before `put` rejects; `Upload.abort()` would reject at
 * once and abort the upload later, in the background.
 *
 * Overwrite refusal: a HeadObject before the upload, plus `If-None-Match: *` on the
 * request that makes the object visible (PutObject or CompleteMultipartUpload), which S3
 * honours since 2024 (412 → DestinationNotEmptyError). Servers that ignore the header
 * (s3rver, older MinIO) leave a race between the HeadObject and the completion: two
 * writers of one key at the same moment can both succeed there, the later one winning.
 *
 * Checksums: `requestChecksumCalculation`/`responseChecksumValidation` are
 * WHEN_REQUIRED because the SDK's default CRC32 trailers (since 3.729) are rejected by
 * many S3-compatible servers, GCS's XML API included
 * (https://github.com/aws/aws-sdk-js-v3/issues/6810). Integrity of backups is checked by
 * pagevault's own frame checksums anyway.
 *
 * Retries: the SDK's standard retry strategy (`?maxAttempts=`, default 5) handles
 * throttling, 5xx and connection resets per request; an error that survives it becomes
 * an IoError naming the operation, the HTTP status and the S3 error code.
 */
import { Readable, pipeline } from 'node:stream';
import { Agent as HttpsAgent } from 'node:https';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AbortedError, DestinationNotEmptyError, InvalidArgumentError, IoError, NotFoundError, isPagevaultError } from '../errors.js';
import { ByteCounter } from '../util/byte-counter.js';
import type { SinkOpenOptions } from './open-options.js';
import { checkKey, type ObjectInfo, type PutResult, type Sink, type SinkProperties } from './sink.js';

/** S3_STORAGE_CLASSES: the storage classes a `?storageClass=` may name. */
export const S3_STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR'] as const;

const MiB = 1024 * 1024;
const MIN_PART = 5 * MiB;
const MAX_PART = 5 * 1024 * MiB;
const MAX_PARTS = 10_000;
/** DEFAULT_PART_SIZE: 16 MiB × 10,000 parts = 156 GiB, the largest object without a sizeHint. */
export const DEFAULT_PART_SIZE = 16 * MiB;

/** S3SinkConfig: everything parsed from the URL (no credentials). */
export interface S3SinkConfig {
  scheme: 's3' | 'gs';
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  storageClass?: StorageClass;
  /** Undefined: DEFAULT_PART_SIZE, raised by a put's sizeHint. */
  partSize?: number;
  queueSize: number;
  maxAttempts: number;
}

/** S3PutOptions: Sink put options plus `sizeHint` (expected bytes; sets the part size for objects over 156 GiB). */
export interface S3PutOptions {
  overwrite?: boolean;
  signal?: AbortSignal;
  sizeHint?: number;
}

/**
 * parseS3Url: the S3SinkConfig of an `s3://` or `gs://` URL; InvalidArgumentError on an
 * unknown scheme, a missing bucket, user info, a bad storage class or size. Messages
 * never echo the URL's user info.
 */
export function parseS3Url(url: URL): S3SinkConfig {
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 's3' && scheme !== 'gs') throw new InvalidArgumentError(`Expected an s3:// or gs:// URL but received a ${scheme}: URL`);
  if (url.username || url.password) throw new InvalidArgumentError(`Expected no credentials in the ${scheme}:// URL; pass them as options or environment variables`);
  const bucket = decodeURIComponent(url.hostname);
  if (!/^[a-z0-9][a-z0-9.\-_]{2,62}$/i.test(bucket)) throw new InvalidArgumentError(`Expected a bucket name in the ${scheme}:// URL but received ${JSON.stringify(bucket)}`);
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
  const prefix = path === '' ? '' : `${checkKey(path)}/`;
  const q = url.searchParams;
  const known = new Set(['region', 'endpoint', 'forcePathStyle', 'storageClass', 'partSize', 'queueSize', 'maxAttempts']);
  for (const name of q.keys()) if (!known.has(name)) throw new InvalidArgumentError(`Expected one of ${[...known].join(', ')} as ${scheme}:// URL parameter but received ${JSON.stringify(name)}`);

  const gs = scheme === 'gs';
  const endpoint = q.get('endpoint') ?? (gs ? 'https://storage.googleapis.com' : undefined);
  if (endpoint !== undefined) {
    let e: URL;
    try {
      e = new URL(endpoint);
    } catch {
      throw new InvalidArgumentError(`Expected an http(s) URL for endpoint but received an unparsable value`);
    }
    if ((e.protocol !== 'http:' && e.protocol !== 'https:') || e.username || e.password) throw new InvalidArgumentError(`Expected an http(s) URL without credentials for endpoint`);
  }
  const fps = q.get('forcePathStyle');
  if (fps !== null && fps !== 'true' && fps !== 'false') throw new InvalidArgumentError(`Expected true or false for forcePathStyle but received ${JSON.stringify(fps)}`);
  const sc = q.get('storageClass') ?? undefined;
  if (sc !== undefined && !(S3_STORAGE_CLASSES as readonly string[]).includes(sc)) {
    throw new InvalidArgumentError(`Expected one of ${S3_STORAGE_CLASSES.join(', ')} for storageClass but received ${JSON.stringify(sc)}`);
  }
  const ps = q.get('partSize');
  const partSize = ps === null ? undefined : parseSize(ps, 'partSize');
  if (partSize !== undefined && (partSize < MIN_PART || partSize > MAX_PART)) throw new InvalidArgumentError(`Expected partSize between 5MiB and 5GiB but received ${ps}`);
  return {
    scheme,
    bucket,
    prefix,
    region: q.get('region') ?? (gs ? 'auto' : 'us-east-1'),
    endpoint,
    forcePathStyle: fps === null ? gs : fps === 'true',
    storageClass: sc as StorageClass | undefined,
    partSize,
    queueSize: parseInteger(q.get('queueSize'), 'queueSize', 4, 1, 64),
    maxAttempts: parseInteger(q.get('maxAttempts'), 'maxAttempts', 5, 1, 20),
  };
}

function parseSize(text: string, what: string): number {
  const m = /^(\d+)(B|KiB|MiB|GiB|KB|MB|GB)?$/i.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`Expected a size like 8MiB for ${what} but received ${JSON.stringify(text)}`);
  const units: Record<string, number> = { b: 1, kib: 1024, mib: MiB, gib: 1024 * MiB, kb: 1e3, mb: 1e6, gb: 1e9 };
  return Number(m[1]) * units[(m[2] ?? 'b').toLowerCase()];
}

function parseInteger(text: string | null, what: string, dflt: number, min: number, max: number): number {
  if (text === null) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`Expected an integer from ${min} to ${max} for ${what} but received ${JSON.stringify(text)}`);
  return n;
}

/**
 * S3Sink: see the module comment. One S3Client per sink; `close()` destroys it
 * (idempotent). Methods may run concurrently.
 */
export class S3Sink implements Sink {
  readonly name: string;
  /** S3 objects appear whole when PutObject/CompleteMultipartUpload returns. */
  readonly properties: SinkProperties = { atomicPut: true, rangeReads: true };
  readonly config: S3SinkConfig;
  /** client: exposed for tests (middleware spies) and tools; do not destroy it directly. */
  readonly client: S3Client;
  readonly #secrets: string[];
  #closed = false;

  constructor(config: S3SinkConfig, options: SinkOpenOptions) {
    this.config = config;
    this.name = `${config.scheme}://${config.bucket}${config.prefix ? `/${config.prefix.replace(/\/$/, '')}` : ''}`;
    const c = options.credentials ?? {};
    this.#secrets = [c.accessKeyId, c.secretAccessKey, c.sessionToken].filter((s): s is string => typeof s === 'string' && s.length >= 4);
    const clientConfig: S3ClientConfig = {
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      maxAttempts: config.maxAttempts,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (config.endpoint) clientConfig.endpoint = config.endpoint;
    if (c.accessKeyId && c.secretAccessKey) {
      clientConfig.credentials = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
    }
    // Timeouts: the SDK's default is none, so a connection that stalls without closing would hang a backup
    // forever (found by test/sinks/faults.test.ts). A socket idle for 2 minutes fails the request, which the
    // SDK then retries.
    clientConfig.requestHandler = {
      connectionTimeout: 10_000,
      requestTimeout: 120_000,
      ...(options.caCert || options.insecureTls ? { httpsAgent: new HttpsAgent({ keepAlive: true, ca: options.caCert, rejectUnauthorized: !options.insecureTls }) } : {}),
    };
    this.client = new S3Client(clientConfig);
  }

  #key(key: string): string {
    return this.config.prefix + checkKey(key);
  }

  async put(key: string, body: Readable, options: S3PutOptions = {}): Promise<PutResult> {
    const full = this.#key(key);
    const { signal } = options;
    if (signal?.aborted) {
      body.destroy();
      throw new AbortedError(`put ${key} to ${this.name} aborted`);
    }
    if (!options.overwrite && (await this.#exists(full))) {
      body.destroy();
      throw new DestinationNotEmptyError(`${this.name}/${key} already exists; backup files are never overwritten`);
    }
    let sourceError: unknown;
    // A pass-through counter, not a 'data' listener (see util/byte-counter.ts); pipeline
    // destroys the counter with the source's error, which fails lib-storage's part reader.
    const counter = new ByteCounter();
    pipeline(body, counter, (err) => {
      if (err) sourceError ??= err;
    });
    const onAbort = (): void => {
      sourceError ??= new AbortedError(`put ${key} to ${this.name} aborted`);
      body.destroy(sourceError as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const upload = new Upload({
      client: this.client,
      partSize: this.#partSize(options.sizeHint),
      queueSize: this.config.queueSize,
      leavePartsOnError: false,
      params: {
        Bucket: this.config.bucket,
        Key: full,
        Body: counter,
        ...(this.config.storageClass ? { StorageClass: this.config.storageClass } : {}),
        ...(options.overwrite ? {} : { IfNoneMatch: '*' }),
      },
    });
    try {
      await upload.done();
    } catch (err) {
      // lib-storage rethrows the AbortMultipartUpload failure instead of the cause when the
      // abort itself fails; report the source's error (or the abort) first, keep the rest as cause.
      if (signal?.aborted) throw new AbortedError(`put ${key} to ${this.name} aborted`);
      if (sourceError !== undefined) {
        if (isPagevaultError(sourceError)) throw sourceError;
        throw new IoError(`put ${this.name}/${key}: the source stream failed: ${this.#scrub(messageOf(sourceError))}`, { cause: sourceError });
      }
      if (statusOf(err) === 412 || nameOf(err) === 'PreconditionFailed') throw new DestinationNotEmptyError(`${this.name}/${key} already exists; backup files are never overwritten`);
      throw this.#ioError(err, `put ${this.name}/${key}`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) {
      // Aborted after the last byte was read: the object is complete; take it back unless it replaced one.
      if (!options.overwrite) await this.remove(key).catch(() => undefined);
      throw new AbortedError(`put ${key} to ${this.name} aborted`);
    }
    return { key, size: counter.bytes };
  }

  #partSize(sizeHint: number | undefined): number {
    const base = this.config.partSize ?? DEFAULT_PART_SIZE;
    if (sizeHint === undefined || !(sizeHint > 0)) return base;
    const needed = Math.ceil(sizeHint / MAX_PARTS / MiB) * MiB;
    if (needed > MAX_PART) throw new InvalidArgumentError(`Expected an object of at most ${MAX_PART * MAX_PARTS} bytes for S3 but received a sizeHint of ${sizeHint}`);
    return Math.max(base, needed);
  }

  async #exists(full: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: full }));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw this.#ioError(err, `head ${this.config.scheme}://${this.config.bucket}/${full}`);
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const full = this.#key(key);
    if (range && (!Number.isInteger(range.start) || range.start < 0 || (range.end !== undefined && (!Number.isInteger(range.end) || range.end < range.start)))) {
      throw new InvalidArgumentError(`Expected a byte range with 0 <= start <= end but received ${JSON.stringify(range)}`);
    }
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.config.bucket, Key: full, ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}) }),
      );
      const b = out.Body;
      if (b === undefined) return Readable.from([]);
      return b instanceof Readable ? b : Readable.fromWeb(b.transformToWebStream() as Parameters<typeof Readable.fromWeb>[0]);
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`no object ${key} in ${this.name}`, { cause: err });
      // 416: the range starts at or past the end; the contract says yield what exists (nothing).
      if (range && (statusOf(err) === 416 || nameOf(err) === 'InvalidRange')) {
        await this.stat(key);
        return Readable.from([]);
      }
      throw this.#ioError(err, `get ${this.name}/${key}`);
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    const full = this.#key(key);
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: full }));
      return { key, size: h.ContentLength ?? 0, modified: h.LastModified ?? new Date(0) };
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`no object ${key} in ${this.name}`, { cause: err });
      throw this.#ioError(err, `stat ${this.name}/${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    const base = this.config.prefix;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: base + prefix, ContinuationToken: token }));
      } catch (err) {
        throw this.#ioError(err, `list ${this.name}/${prefix}`);
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(base)) continue;
        yield { key: o.Key.slice(base.length), size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async remove(key: string): Promise<void> {
    const full = this.#key(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: full }));
    } catch (err) {
      if (isMissing(err)) return;
      throw this.#ioError(err, `remove ${this.name}/${key}`);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.client.destroy();
  }

  /** #ioError: an SDK error as IoError: operation, HTTP status, S3 code; credentials scrubbed. */
  #ioError(err: unknown, what: string): unknown {
    if (isPagevaultError(err)) return err;
    const status = statusOf(err);
    const text = `${what} failed${status ? ` (HTTP ${status})` : ''}: ${nameOf(err) ?? 'Error'}: ${messageOf(err)}`;
    return new IoError(this.#scrub(text), { cause: err });
  }

  #scrub(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join('***');
    return out;
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function nameOf(err: unknown): string | undefined {
  const e = err as { name?: unknown; Code?: unknown } | null;
  return typeof e?.Code === 'string' ? e.Code : typeof e?.name === 'string' ? e.name : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isMissing(err: unknown): boolean {
  const n = nameOf(err);
  return statusOf(err) === 404 || n === 'NotFound' || n === 'NoSuchKey';
}

/**
 * createS3Sink: the factory for `s3://` and `gs://` URLs.
 *
 * `gs://bucket/prefix` talks to Google Cloud Storage's S3-compatible XML API
 * (https://storage.googleapis.com, region `auto`, path-style requests) with HMAC keys
 * (created in the console under Cloud Storage → Settings → Interoperability) passed as
 * accessKeyId/secretAccessKey. Chosen over the JSON API because it is one implementation
 * for both clouds, it has multipart uploads with parallel parts (the JSON API's resumable
 * uploads are sequential), and HMAC keys need no service-account JSON file or OAuth flow.
 * Only the S3 path is tested here (against s3rver); gs:// has not been run against GCS.
 */
export function createS3Sink(url: URL, options: SinkOpenOptions): Sink {
  return new S3Sink(parseS3Url(url), options);
}
