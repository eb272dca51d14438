/**
 * azure: the `azure://` sink, Azure Blob Storage block blobs (@azure/storage-blob).
 *
 * URL: `azure://<account>/<container>[/<prefix>][?options]`; the service endpoint is
 * `https://<account>.blob.core.windows.net` unless `endpoint=` names another one (Azurite:
 * `?endpoint=http://127.0.0.1:10000/devstoreaccount1`, or a private endpoint). Options:
 * - `blockSize=8MiB` (bytes, or with KiB/MiB/GiB; 1 KiB to 4000 MiB): the size of each
 *   staged block. A block blob holds at most 50,000 blocks, so the largest object one put
 *   can store is blockSize × 50,000: the default 8 MiB allows ~390 GiB, `64MiB` ~3 TiB.
 *   Memory per put is about blockSize × (concurrency + 1).
 * - `concurrency=4` (1-64): blocks uploaded in parallel.
 * - `accessTier=Hot|Cool|Cold|Archive`: the tier set when the blob is committed
 *   (Archive blobs must be rehydrated before a restore can read them).
 * - `maxTries=5` (1-20): attempts per request by the SDK's retry policy (exponential
 *   backoff); a request that still fails becomes an IoError carrying the HTTP status.
 *
 * Credentials (open-options.ts): `accountKey` [AZURE_STORAGE_KEY] (shared key) or
 * `sasToken` [AZURE_STORAGE_SAS] (appended to every request URL); with both, the account
 * key is used. Neither appears in `name` or in any error message.
 *
 * Atomicity: a put stages blocks (`uploadStream`) and commits the block list once, at the
 * end; until that commit no blob exists under the key (staged blocks are invisible to
 * get/stat/list and the service discards them after a week), so a failed or aborted put
 * leaves nothing readable, and an overwrite replaces the old blob in one step. A put that
 * must not overwrite commits with `If-None-Match: *`, so two writers racing for one key
 * cannot both win.
 */
import { pipeline, Readable } from 'node:stream';
import {
  AnonymousCredential,
  ContainerClient,
  RestError,
  StorageSharedKeyCredential,
  type BlobDownloadOptions,
  type BlockBlobUploadStreamOptions,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { DestinationNotEmptyError, InvalidArgumentError, IoError, NotFoundError } from '../errors.js';
import { ByteCounter } from '../util/byte-counter.js';
import type { SinkOpenOptions } from './open-options.js';
import { checkKey, type ObjectInfo, type PutResult, type Sink, type SinkProperties } from './sink.js';

/** AzureAccessTier: the tiers `accessTier=` accepts. */
export type AzureAccessTier = 'Hot' | 'Cool' | 'Cold' | 'Archive';

const ACCESS_TIERS: readonly AzureAccessTier[] = ['Hot', 'Cool', 'Cold', 'Archive'];
const KNOWN_PARAMS = new Set(['endpoint', 'blockSize', 'concurrency', 'accessTier', 'maxTries']);
const MAX_BLOCK_BYTES = 4000 * 1024 * 1024;

/** AzureSinkConfig: a parsed `azure://` URL (no secrets). */
export interface AzureSinkConfig {
  account: string;
  container: string;
  /** Key prefix inside the container, without leading or trailing `/`; '' for none. */
  prefix: string;
  /** Service URL (`https://<account>.blob.core.windows.net` or `endpoint=`), without a trailing `/`. */
  endpoint: string;
  blockSize: number;
  concurrency: number;
  accessTier?: AzureAccessTier;
  maxTries: number;
}

/** AzureCredentials: exactly one way to authenticate. */
export type AzureCredentials = { accountKey: string } | { sasToken: string };

/** parseAzureUrl: validates an `azure://` URL; InvalidArgumentError for anything malformed. */
export function parseAzureUrl(url: URL): AzureSinkConfig {
  if (url.protocol !== 'azure:') throw new InvalidArgumentError(`Expected an azure:// URL but received ${url.protocol}//`);
  if (url.username || url.password) throw new InvalidArgumentError('Expected no user or password in an azure:// URL (credentials come from AZURE_STORAGE_KEY / AZURE_STORAGE_SAS or options)');
  const account = url.hostname;
  if (!/^[a-z0-9]{3,24}$/.test(account)) throw new InvalidArgumentError(`Expected a storage account name of 3-24 lowercase letters and digits in the azure:// URL but received ${JSON.stringify(account)}`);
  const segments = decodeURIComponent(url.pathname).split('/').filter((s, i) => i > 0 || s !== '');
  const container = segments.shift() ?? '';
  if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(container)) {
    throw new InvalidArgumentError(`Expected azure://<account>/<container>[/prefix] with a container name of 3-63 lowercase letters, digits and single hyphens but received ${JSON.stringify(container)}`);
  }
  while (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  const prefix = segments.join('/');
  if (prefix !== '') checkKey(prefix);

  const params = url.searchParams;
  for (const name of params.keys()) {
    if (!KNOWN_PARAMS.has(name)) throw new InvalidArgumentError(`Expected azure:// options among ${[...KNOWN_PARAMS].join(', ')} but received ${JSON.stringify(name)}`);
  }
  let endpoint = `https://${account}.blob.core.windows.net`;
  const ep = params.get('endpoint');
  if (ep !== null) {
    let parsed: URL;
    try {
      parsed = new URL(ep);
    } catch {
      throw new InvalidArgumentError(`Expected an http(s) URL for endpoint but received ${JSON.stringify(ep)}`);
    }
    if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search || parsed.username || parsed.password) {
      throw new InvalidArgumentError(`Expected an http(s) URL without query or user for endpoint but received ${JSON.stringify(`${parsed.protocol}//${parsed.host}${parsed.pathname}`)}`);
    }
    endpoint = `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
  }
  const tier = params.get('accessTier');
  let accessTier: AzureAccessTier | undefined;
  if (tier !== null) {
    accessTier = ACCESS_TIERS.find((t) => t.toLowerCase() === tier.toLowerCase());
    if (!accessTier) throw new InvalidArgumentError(`Expected accessTier to be one of ${ACCESS_TIERS.join(', ')} but received ${JSON.stringify(tier)}`);
  }
  return {
    account,
    container,
    prefix,
    endpoint,
    blockSize: parseBytes(params.get('blockSize'), 'blockSize', 8 * 1024 * 1024, 1024, MAX_BLOCK_BYTES),
    concurrency: parseInteger(params.get('concurrency'), 'concurrency', 4, 1, 64),
    accessTier,
    maxTries: parseInteger(params.get('maxTries'), 'maxTries', 5, 1, 20),
  };
}

function parseInteger(value: string | null, name: string, fallback: number, min: number, max: number): number {
  if (value === null) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`Expected an integer ${min}-${max} for ${name} but received ${JSON.stringify(value)}`);
  return n;
}

function parseBytes(value: string | null, name: string, fallback: number, min: number, max: number): number {
  if (value === null) return fallback;
  const m = /^(\d+)\s*(B|KiB|MiB|GiB|K|M|G)?$/i.exec(value);
  const unit = (m?.[2] ?? 'B').toUpperCase()[0];
  const n = m ? Number(m[1]) * (unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`Expected ${name} of ${min} bytes to ${max / 1048576} MiB (e.g. 8MiB) but received ${JSON.stringify(value)}`);
  return n;
}

/** azureCredentials: the account key or SAS token from `options.credentials`; InvalidArgumentError naming the env vars if neither is set. */
export function azureCredentials(options: SinkOpenOptions): AzureCredentials {
  const { accountKey, sasToken } = options.credentials;
  if (accountKey) return { accountKey };
  if (sasToken) return { sasToken: sasToken.replace(/^\?/, '') };
  throw new InvalidArgumentError('azure:// needs an account key (AZURE_STORAGE_KEY, or credentials.accountKey) or a SAS token (AZURE_STORAGE_SAS, or credentials.sasToken)');
}

/** createAzureSink: the factory the registry calls for `azure://` URLs. Validates eagerly; opens no connection. */
export function createAzureSink(url: URL, options: SinkOpenOptions): Sink {
  return new AzureSink(parseAzureUrl(url), azureCredentials(options));
}

/** AzureSink: see the module comment. Stateless between calls; safe to use concurrently. */
export class AzureSink implements Sink {
  readonly name: string;
  readonly properties: SinkProperties = { atomicPut: true, rangeReads: true };
  readonly config: AzureSinkConfig;
  readonly #container: ContainerClient;
  /** Strings that must never appear in an error message (key, SAS, its signature). */
  readonly #secrets: string[];

  constructor(config: AzureSinkConfig, credentials: AzureCredentials) {
    this.config = config;
    this.name = `azure://${config.account}/${config.container}${config.prefix ? `/${config.prefix}` : ''}`;
    // tryTimeoutInMs: the SDK has no default, so a stalled connection would hang forever; 10 minutes per try
    // (a whole block at a slow link) then fails it and the policy retries.
    const pipelineOptions: StoragePipelineOptions = { retryOptions: { maxTries: config.maxTries, tryTimeoutInMs: 600_000 } };
    const containerUrl = `${config.endpoint}/${config.container}`;
    if ('accountKey' in credentials) {
      this.#secrets = [credentials.accountKey];
      this.#container = new ContainerClient(containerUrl, new StorageSharedKeyCredential(config.account, credentials.accountKey), pipelineOptions);
    } else {
      const sig = new URLSearchParams(credentials.sasToken).get('sig');
      this.#secrets = [credentials.sasToken, ...(sig ? [sig, encodeURIComponent(sig)] : [])];
      this.#container = new ContainerClient(`${containerUrl}?${credentials.sasToken}`, new AnonymousCredential(), pipelineOptions);
    }
  }

  #blobName(key: string): string {
    checkKey(key);
    return this.config.prefix ? `${this.config.prefix}/${key}` : key;
  }

  async put(key: string, body: Readable, options: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<PutResult> {
    const blob = this.#container.getBlockBlobClient(this.#blobName(key));
    const { signal } = options;
    signal?.throwIfAborted();
    // Refuse early (one HEAD) rather than upload gigabytes the conditional commit would reject.
    if (!options.overwrite && (await this.#exists(key))) throw this.#alreadyExists(key);

    const counter = new ByteCounter();
    pipeline(body, counter, () => {});
    // uploadStream passes its abortSignal only to the final commit, not to stageBlock
    // (@azure/storage-blob 12.x Clients.js), so an abort also destroys the source: the
    // scheduler rejects on the stream's error and never commits.
    const onAbort = (): void => {
      const reason = signal?.reason instanceof Error ? signal.reason : Object.assign(new Error('put aborted'), { name: 'AbortError' });
      body.destroy(reason);
      counter.destroy(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const uploadOptions: BlockBlobUploadStreamOptions = {
      abortSignal: signal,
      conditions: options.overwrite ? {} : { ifNoneMatch: '*' },
      ...(this.config.accessTier ? { tier: this.config.accessTier } : {}),
    };
    try {
      await blob.uploadStream(counter, this.config.blockSize, this.config.concurrency, uploadOptions);
    } catch (err) {
      body.destroy();
      counter.destroy();
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : err;
      if (!isRestError(err)) throw err; // the source's own error (or an abort) is the caller's, unchanged
      if ((err.statusCode === 409 || err.statusCode === 412) && !options.overwrite) throw this.#alreadyExists(key);
      throw this.#wrap(err, `writing ${key} to ${this.name}`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return { key, size: counter.bytes };
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const blob = this.#container.getBlobClient(this.#blobName(key));
    const start = range?.start ?? 0;
    const count = range?.end === undefined ? undefined : range.end - start + 1;
    if (!Number.isSafeInteger(start) || start < 0 || (count !== undefined && (!Number.isSafeInteger(count) || count < 1))) {
      throw new InvalidArgumentError(`Expected a byte range with 0 <= start <= end but received ${JSON.stringify(range)}`);
    }
    const downloadOptions: BlobDownloadOptions = { maxRetryRequests: this.config.maxTries };
    try {
      const res = await blob.download(start, count, downloadOptions);
      const stream = res.readableStreamBody as Readable | undefined;
      if (!stream) throw new IoError(`reading ${key} from ${this.name}: the service returned no body`);
      return stream;
    } catch (err) {
      if (isRestError(err) && err.statusCode === 416) {
        // A range that starts past the end: the contract says "the bytes that exist" (none),
        // but only if the object exists at all.
        await this.stat(key);
        return Readable.from([]);
      }
      throw this.#wrap(err, `reading ${key} from ${this.name}`, key);
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    const blob = this.#container.getBlobClient(this.#blobName(key));
    try {
      const p = await blob.getProperties();
      return { key, size: p.contentLength ?? 0, modified: p.lastModified ?? new Date(0) };
    } catch (err) {
      throw this.#wrap(err, `stat ${key} in ${this.name}`, key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const base = this.config.prefix ? `${this.config.prefix}/` : '';
    try {
      for await (const item of this.#container.listBlobsFlat({ prefix: base + prefix })) {
        if (!item.name.startsWith(base)) continue;
        yield { key: item.name.slice(base.length), size: item.properties.contentLength ?? 0, modified: item.properties.lastModified };
      }
    } catch (err) {
      throw this.#wrap(err, `listing ${prefix || '(everything)'} in ${this.name}`);
    }
  }

  async remove(key: string): Promise<void> {
    const blob = this.#container.getBlobClient(this.#blobName(key));
    try {
      await blob.deleteIfExists();
    } catch (err) {
      throw this.#wrap(err, `removing ${key} from ${this.name}`);
    }
  }

  async close(): Promise<void> {
    // The SDK's HTTP client holds no per-sink resources that need releasing.
  }

  async #exists(key: string): Promise<boolean> {
    try {
      await this.stat(key);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  #alreadyExists(key: string): DestinationNotEmptyError {
    return new DestinationNotEmptyError(`${this.name}/${key} already exists; backup files are never overwritten`);
  }

  /**
   * #wrap: a service error becomes NotFoundError (404, when `key` is given) or IoError with
   * the HTTP status and the service's error code, scrubbed of every secret. The RestError
   * is not kept as `cause`: its request (URL with a SAS, headers) would travel with it.
   */
  #wrap(err: unknown, what: string, key?: string): Error {
    if (!isRestError(err)) {
      if (err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code?.startsWith('PAGEVAULT_'))) return err;
      return new IoError(`${what}: ${this.#scrub(err instanceof Error ? err.message : String(err))}`);
    }
    const status = err.statusCode;
    if (status === 404 && key !== undefined) return new NotFoundError(`no object ${key} in ${this.name}`);
    const firstLine = this.#scrub((err.message || '').split('\n')[0] ?? '').slice(0, 300);
    const hint = status === 403 ? '(authentication or authorisation failed: check the account key or SAS token and its permissions)' : '';
    const detail = [status ? `HTTP ${status}` : err.code ? err.code : 'network error', status && err.code ? err.code : '', firstLine, hint].filter(Boolean).join(' ');
    return Object.assign(new IoError(`${what}: ${detail}`), { statusCode: status, serviceCode: err.code });
  }

  #scrub(text: string): string {
    let out = text;
    for (const s of this.#secrets) if (s) out = out.split(s).join('[redacted]');
    return out.replace(/([?&]sig=)[^&\s'"]+/gi, '$1[redacted]');
  }
}

function isRestError(err: unknown): err is RestError {
  return err instanceof RestError || (typeof err === 'object' && err !== null && (err as { name?: string }).name === 'RestError');
}
