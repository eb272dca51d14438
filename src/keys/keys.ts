/**
 * keys: loading, generating and fingerprinting the master keys that encrypt backups.
 *
 * A master key is 32 random bytes. It comes from a key file (one line of base64, written
 * by `generateKeyFile` with mode 0600), from an environment variable holding the same
 * base64, from raw bytes, or from a passphrase through scrypt. Keys never go into a
 * backup: a header records only the key id (a fingerprint) and, for a passphrase, the
 * scrypt parameters and salt, so the reader can re-derive the key and tell a wrong key
 * from a damaged file before writing any output.
 */
import { createHmac, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { DestinationNotEmptyError, InvalidArgumentError, IoError, NotFoundError, UnsupportedBackupError } from '../errors.js';

/** KEY_LENGTH: bytes in a master key (AES-256). */
export const KEY_LENGTH = 32;
/** KEY_ID_LENGTH: bytes in a key id (hex in headers: twice as many characters). */
export const KEY_ID_LENGTH = 16;
const KEY_ID_LABEL = 'pagevault key id';

/** ScryptParams: how a passphrase key was derived; recorded in the header of every file it encrypts. */
export interface ScryptParams {
  name: 'scrypt';
  /** CPU/memory cost, a power of two (default 2^17). */
  N: number;
  /** Block size (default 8). */
  r: number;
  /** Parallelism (default 1). */
  p: number;
  /** 16 random bytes, base64. */
  salt: string;
}

/** KdfParams: the key derivations a header can name; only scrypt today. */
export type KdfParams = ScryptParams;

/** SCRYPT_DEFAULTS: the cost used when `loadKey({ passphrase })` is given none (memory 128·N·r = 128 MiB). */
export const SCRYPT_DEFAULTS = { N: 2 ** 17, r: 8, p: 1 } as const;

// Limits on scrypt costs: a header is untrusted input and must not make a reader
// allocate gigabytes or spin for minutes. 2^20 · 8 · 128 = 1 GiB is the ceiling.
const SCRYPT_MIN_N = 2 ** 10;
const SCRYPT_MAX_N = 2 ** 20;
const SCRYPT_MAX_R = 32;
const SCRYPT_MAX_P = 16;
const SCRYPT_MAX_MEM = 1024 * 1024 * 1024;

/**
 * KeySource: where `loadKey` finds a key.
 * - `{ file }`: a key file (one line of base64 of 32 bytes, as `generateKeyFile` writes);
 * - `{ env }`: the name of an environment variable holding the same base64;
 * - `{ raw }`: the 32 key bytes themselves (copied);
 * - `{ passphrase }`: scrypt with a fresh random salt, `scrypt` overriding the cost.
 */
export type KeySource =
  | { file: string }
  | { env: string }
  | { raw: Uint8Array }
  | { passphrase: string; scrypt?: Partial<Pick<ScryptParams, 'N' | 'r' | 'p'>> };

const kMaterial = Symbol('pagevault.keyMaterial');

/**
 * LoadedKey: a master key ready to encrypt or decrypt. Immutable. `id` is the key id
 * recorded in headers; `kdf` is non-null for passphrase keys (the salt and cost to record).
 * The key bytes are not enumerable and are redacted from `inspect`/`JSON.stringify`, so
 * logging a LoadedKey does not leak it.
 */
export class LoadedKey {
  /** source: where the key came from. */
  readonly source: 'file' | 'env' | 'raw' | 'passphrase';
  /** id: the key id, hex (see `keyId`). */
  readonly id: string;
  /** kdf: for a passphrase key, the derivation to record in headers; otherwise null. */
  readonly kdf: KdfParams | null;
  declare readonly [kMaterial]: Buffer;
  readonly #passphrase: Buffer | null;
  /** Keys derived for other salts (the files of a chain share one), so each is derived once. */
  readonly #derived = new Map<string, Promise<LoadedKey>>();

  /** @internal Use `loadKey`. */
  constructor(source: LoadedKey['source'], material: Buffer, kdf: KdfParams | null, passphrase: Buffer | null) {
    this.source = source;
    this.kdf = kdf;
    this.id = keyId(material);
    Object.defineProperty(this, kMaterial, { value: material, enumerable: false });
    this.#passphrase = passphrase;
  }

  /**
   * forKdf: the key to use for a file whose header records `kdf`. A passphrase key is
   * re-derived with the header's salt and cost (scrypt, off the JS thread) unless they are
   * its own; a key file/env/raw key is returned as is (its id decides). Throws
   * UnsupportedBackupError for a KDF or cost this version refuses (see the limits above).
   */
  async forKdf(kdf: KdfParams | null): Promise<LoadedKey> {
    if (!kdf || !this.#passphrase) return this;
    if (this.kdf && this.kdf.salt === kdf.salt && this.kdf.N === kdf.N && this.kdf.r === kdf.r && this.kdf.p === kdf.p) return this;
    const checked = checkScrypt(kdf, (message) => new UnsupportedBackupError(message));
    const cacheKey = `${checked.N}:${checked.r}:${checked.p}:${checked.salt}`;
    let derived = this.#derived.get(cacheKey);
    if (!derived) {
      const passphrase = this.#passphrase;
      derived = runScrypt(passphrase, checked).then((material) => new LoadedKey('passphrase', material, checked, passphrase));
      if (this.#derived.size >= 16) this.#derived.delete(this.#derived.keys().next().value!);
      this.#derived.set(cacheKey, derived);
      derived.catch(() => this.#derived.delete(cacheKey));
    }
    return derived;
  }

  /** toJSON: the public part only. */
  toJSON(): { source: string; id: string; kdf: KdfParams | null } {
    return { source: this.source, id: this.id, kdf: this.kdf };
  }

  [inspect.custom](): string {
    return `LoadedKey { source: '${this.source}', id: '${this.id}'${this.kdf ? `, kdf: scrypt N=${this.kdf.N} r=${this.kdf.r} p=${this.kdf.p}` : ''} }`;
  }
}

/** @internal keyMaterial: the 32 key bytes of `key`, for the format writer and reader only. */
export function keyMaterial(key: LoadedKey): Buffer {
  return key[kMaterial];
}

/**
 * keyId: the fingerprint of a master key recorded in backup headers: the first 16 bytes of
 * HMAC-SHA256(key, "pagevault key id"), hex. It identifies the key without revealing it.
 */
export function keyId(key: Uint8Array): string {
  return createHmac('sha256', key).update(KEY_ID_LABEL).digest().subarray(0, KEY_ID_LENGTH).toString('hex');
}

/** keyIdsEqual: constant-time comparison of two hex key ids. */
export function keyIdsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeKeyText(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const bytes = BASE64.test(trimmed) ? Buffer.from(trimmed, 'base64') : null;
  if (!bytes || bytes.length !== KEY_LENGTH || bytes.toString('base64') !== trimmed) {
    throw new InvalidArgumentError(`Expected base64 of ${KEY_LENGTH} bytes in ${where}`);
  }
  return bytes;
}

function checkScrypt<E extends Error>(params: { N: unknown; r: unknown; p: unknown; salt?: unknown; name?: unknown }, fail: (message: string) => E): ScryptParams {
  const { N, r, p, salt } = params;
  if (params.name !== undefined && params.name !== 'scrypt') throw fail(`key derivation ${String(params.name)} is not supported`);
  const int = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
  if (!int(N) || N < SCRYPT_MIN_N || N > SCRYPT_MAX_N || (N & (N - 1)) !== 0) throw fail(`Expected a power of two in [2^10, 2^20] for scrypt N but received ${String(N)}`);
  if (!int(r) || r < 1 || r > SCRYPT_MAX_R) throw fail(`Expected an integer in [1, ${SCRYPT_MAX_R}] for scrypt r but received ${String(r)}`);
  if (!int(p) || p < 1 || p > SCRYPT_MAX_P) throw fail(`Expected an integer in [1, ${SCRYPT_MAX_P}] for scrypt p but received ${String(p)}`);
  if (128 * N * r > SCRYPT_MAX_MEM) throw fail(`scrypt N=${N} r=${r} needs more than 1 GiB`);
  if (typeof salt !== 'string' || Buffer.from(salt, 'base64').length !== 16) throw fail('Expected 16 bytes of base64 for the scrypt salt');
  return { name: 'scrypt', N, r, p, salt };
}

/** runScrypt: crypto.scrypt (libuv thread pool: never blocks the event loop). */
function runScrypt(passphrase: Buffer, params: ScryptParams): Promise<Buffer> {
  const maxmem = 128 * params.N * params.r + 128 * params.r * params.p + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scryptCallback(passphrase, Buffer.from(params.salt, 'base64'), KEY_LENGTH, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * loadKey: a LoadedKey from `source` (see KeySource). A passphrase is derived with scrypt
 * asynchronously (~0.3–0.5 s at the default cost, in the libuv pool), with a fresh salt:
 * reuse the returned LoadedKey for every file of a chain so they share one key id.
 * Throws NotFoundError (missing key file), InvalidArgumentError (bad content, unset
 * variable, empty passphrase, cost out of range).
 */
export async function loadKey(source: KeySource): Promise<LoadedKey> {
  if (typeof source !== 'object' || source === null) throw new InvalidArgumentError(`Expected a key source object but received ${String(source)}`);
  if ('file' in source) {
    let text: string;
    try {
      text = await readFile(source.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`key file ${source.file} does not exist`, { cause: err });
      throw new IoError(`cannot read key file ${source.file}`, { cause: err });
    }
    return new LoadedKey('file', decodeKeyText(text, `key file ${source.file}`), null, null);
  }
  if ('env' in source) {
    const value = process.env[source.env];
    if (value === undefined || value === '') throw new InvalidArgumentError(`environment variable ${source.env} is not set`);
    return new LoadedKey('env', decodeKeyText(value, `environment variable ${source.env}`), null, null);
  }
  if ('raw' in source) {
    if (!(source.raw instanceof Uint8Array) || source.raw.byteLength !== KEY_LENGTH) throw new InvalidArgumentError(`Expected ${KEY_LENGTH} bytes for raw key`);
    return new LoadedKey('raw', Buffer.from(source.raw), null, null);
  }
  if ('passphrase' in source) {
    if (typeof source.passphrase !== 'string' || source.passphrase.length === 0) throw new InvalidArgumentError('Expected a non-empty string for passphrase');
    const params = checkScrypt(
      { N: source.scrypt?.N ?? SCRYPT_DEFAULTS.N, r: source.scrypt?.r ?? SCRYPT_DEFAULTS.r, p: source.scrypt?.p ?? SCRYPT_DEFAULTS.p, salt: randomBytes(16).toString('base64') },
      (message) => new InvalidArgumentError(message),
    );
    // NFC so the same passphrase typed on different systems derives the same key.
    const passphrase = Buffer.from(source.passphrase.normalize('NFC'), 'utf8');
    return new LoadedKey('passphrase', await runScrypt(passphrase, params), params, passphrase);
  }
  throw new InvalidArgumentError('Expected one of file, env, raw, passphrase in key source');
}

/**
 * generateKeyFile: writes a new random 256-bit key to `path` as one line of base64, mode
 * 0600, and returns it loaded. Refuses to overwrite: throws DestinationNotEmptyError if
 * `path` exists (the check and the create are one atomic `open(O_CREAT|O_EXCL)`).
 */
export async function generateKeyFile(path: string): Promise<LoadedKey> {
  const material = randomBytes(KEY_LENGTH);
  await writeKeyFile(path, material);
  return new LoadedKey('file', material, null, null);
}

/**
 * writeKeyFile: writes the 32 bytes `material` to a new key file at `path` (one line of
 * base64, mode 0600, fsynced), in the format loadKey({ file }) reads. Never overwrites:
 * DestinationNotEmptyError if `path` exists; NotFoundError if its folder does not.
 */
export async function writeKeyFile(path: string, material: Uint8Array): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new DestinationNotEmptyError(`key file ${path} already exists; refusing to overwrite it`);
    if (code === 'ENOENT') throw new NotFoundError(`directory of key file ${path} does not exist`, { cause: err });
    throw new IoError(`cannot create key file ${path}`, { cause: err });
  }
  try {
    await handle.writeFile(`${Buffer.from(material).toString('base64')}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}
