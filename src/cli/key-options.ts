/**
 * key-options: the options every command that encrypts or decrypts takes, and how they
 * become a LoadedKey. Keys and passphrases are never taken as plain command-line values
 * (they would show in `ps` and shell history): a key file, or the name of an environment
 * variable that holds the key or the passphrase.
 */
import { readFile } from 'node:fs/promises';
import { loadKey, type LoadedKey, type TaskEncryption } from '../index.js';
import { UsageError, type OptionSpec, type ParsedOptions } from './args.js';

export const KEY_OPTIONS: Record<string, OptionSpec> = {
  'key-file': { kind: 'string', value: 'FILE', help: 'key file (`pagevault key generate`)' },
  'key-env': { kind: 'string', value: 'VAR', help: 'environment variable holding the base64 key' },
  'passphrase-env': { kind: 'string', value: 'VAR', help: 'environment variable holding a passphrase (scrypt)' },
  'passphrase-file': { kind: 'string', value: 'FILE', help: 'file whose first line is a passphrase (scrypt)' },
};

/** keyFromOptions: the key the options name, or undefined when none is given; two at once is a UsageError. */
export async function keyFromOptions(o: ParsedOptions): Promise<LoadedKey | undefined> {
  const given = Object.keys(KEY_OPTIONS).filter((k) => o[k] !== undefined);
  if (given.length > 1) throw new UsageError(`give one of --${given.join(', --')}, not several`);
  if (o['key-file']) return loadKey({ file: o['key-file'] as string });
  if (o['key-env']) return loadKey({ env: o['key-env'] as string });
  if (o['passphrase-env']) {
    const name = o['passphrase-env'] as string;
    const value = process.env[name];
    if (!value) throw new UsageError(`environment variable ${name} is not set`);
    return loadKey({ passphrase: value });
  }
  if (o['passphrase-file']) {
    const text = await readFile(o['passphrase-file'] as string, 'utf8');
    return loadKey({ passphrase: text.split(/\r?\n/)[0] });
  }
  return undefined;
}

/**
 * remoteEncryption: the options as a server-side TaskEncryption (`--url` mode): the key
 * file path or variable name is the server's; passphrases are refused (they would have to
 * travel to the server).
 */
export function remoteEncryption(o: ParsedOptions): TaskEncryption | undefined {
  const given = Object.keys(KEY_OPTIONS).filter((k) => o[k] !== undefined);
  if (given.length > 1) throw new UsageError(`give one of --${given.join(', --')}, not several`);
  if (o['passphrase-env'] || o['passphrase-file']) throw new UsageError('with --url, give the server a key with --key-file (a path on the server) or --key-env (a variable of the server); passphrases are not sent');
  if (o['key-file']) return { mode: 'key', keyFile: o['key-file'] as string };
  if (o['key-env']) return { mode: 'key', keyEnv: o['key-env'] as string };
  return undefined;
}
