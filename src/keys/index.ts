/**
 * keys: master keys for encrypted backups. Owns key files (`generateKeyFile`), loading
 * from a file, an environment variable or a passphrase (`loadKey`), and key ids
 * (`keyId`), the fingerprints recorded in backup headers. Keys themselves never go into
 * a backup.
 */
export { generateKeyFile, writeKeyFile, keyId, loadKey, LoadedKey, KEY_LENGTH, KEY_ID_LENGTH, SCRYPT_DEFAULTS } from './keys.js';
export type { KeySource, KdfParams, ScryptParams } from './keys.js';
