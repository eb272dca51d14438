/**
 * api-keys: the server's API keys. A key is 32 random bytes shown once when created
 * (`pv_<base64url>`); the server stores only its SHA-256 (a key has 256 bits of entropy,
 * so a fast hash is enough: there is nothing to brute-force), in
 * `<data dir>/.pagevault/api-keys.json` (mode 0600). A presented key is hashed and
 * compared with every stored hash in constant time (crypto.timingSafeEqual), without
 * stopping at the first match, so timing says nothing about which bytes matched.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { InvalidArgumentError, IoError } from '../errors.js';
import { writeFileAtomicSync } from '../util/files.js';

/** StoredApiKey: what the file keeps of a key (never the key). */
export interface StoredApiKey {
  id: string;
  name: string;
  sha256: string;
  created: string;
}

const PREFIX = 'pv_';

function hash(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** readApiKeys: the stored keys in `file` (none when it does not exist). */
export function readApiKeys(file: string): StoredApiKey[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new IoError(`cannot read the API key file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const keys = JSON.parse(text) as StoredApiKey[];
    if (!Array.isArray(keys) || keys.some((k) => typeof k?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(k.sha256))) throw new Error('not a list of hashed keys');
    return keys;
  } catch (err) {
    throw new IoError(`the API key file ${file} is invalid (${(err as Error).message})`, { cause: err });
  }
}

function writeApiKeys(file: string, keys: StoredApiKey[]): void {
  writeFileAtomicSync(file, `${JSON.stringify(keys, null, 2)}\n`);
}

/** createApiKey: add a new key to `file`; returns the key (shown once: it is not stored) and its record. */
export function createApiKey(file: string, name = 'default'): { key: string; stored: StoredApiKey } {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 100) throw new InvalidArgumentError(`Expected a key name of 1-100 characters but received ${JSON.stringify(name)}`);
  const key = PREFIX + randomBytes(32).toString('base64url');
  const stored: StoredApiKey = { id: randomUUID(), name: name.trim(), sha256: hash(key).toString('hex'), created: new Date().toISOString() };
  writeApiKeys(file, [...readApiKeys(file), stored]);
  return { key, stored };
}

/** revokeApiKey: remove the key with `idOrName`; false when there is none. */
export function revokeApiKey(file: string, idOrName: string): boolean {
  const keys = readApiKeys(file);
  const left = keys.filter((k) => k.id !== idOrName && k.name !== idOrName);
  if (left.length === keys.length) return false;
  writeApiKeys(file, left);
  return true;
}

/** ApiKeyChecker: `check(presented)` is the matching stored key, or undefined. */
export interface ApiKeyChecker {
  check(presented: string | undefined): StoredApiKey | undefined;
}

/**
 * apiKeyChecker: a checker over the keys stored in `file`. The file is read again only when
 * its size or modification time changed (one stat per request instead of a read and a
 * parse), so a key made with `pagevault apikey create` or revoked works at the next request.
 */
export function apiKeyChecker(file: string): ApiKeyChecker {
  let keys: StoredApiKey[] = [];
  let seen = '';
  const current = (): StoredApiKey[] => {
    let stamp = 'missing';
    try {
      const st = statSync(file);
      stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new IoError(`cannot read the API key file ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (stamp !== seen) {
      keys = readApiKeys(file);
      seen = stamp;
    }
    return keys;
  };
  return {
    check(presented) {
      if (typeof presented !== 'string' || presented.length === 0 || presented.length > 200) return undefined;
      const h = hash(presented);
      let found: StoredApiKey | undefined;
      for (const k of current()) {
        // Every stored hash is compared, match or not.
        if (timingSafeEqual(h, Buffer.from(k.sha256, 'hex')) && !found) found = k;
      }
      return found;
    },
  };
}
