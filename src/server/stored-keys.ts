/**
 * stored-keys: encryption keys a client sends with a task (`{ mode: 'key', key: base64 }`,
 * as the Studio does after generating one in the browser). The server must hold such a
 * key to run scheduled backups, so it writes it once to
 * `<data dir>/.pagevault/keys/<key id>.key` (mode 0600, the same one-line base64 format as
 * `pagevault key generate`) and the task refers to that file. The key never goes into the
 * state file, a backup, a log line or an API reply (replies show the file path and id).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DestinationNotEmptyError, InvalidArgumentError } from '../errors.js';
import { KEY_LENGTH, loadKey, writeKeyFile } from '../keys/index.js';
import type { TaskEncryption } from '../tasks/task.js';

/** EncryptionInput: what a client may send: a TaskEncryption, or a key by value. */
export type EncryptionInput = TaskEncryption | { mode: 'key'; key: string };

/**
 * storeSentKey: `input` with a key sent by value replaced by a key file under `keysDir`;
 * anything else unchanged. InvalidArgumentError for a key that is not base64 of 32 bytes.
 */
export async function storeSentKey(input: unknown, keysDir: string): Promise<TaskEncryption | undefined> {
  if (input === undefined || input === null) return undefined;
  const e = input as { mode?: unknown; key?: unknown };
  if (e.mode !== 'key' || e.key === undefined) return input as TaskEncryption;
  if (typeof e.key !== 'string') throw new InvalidArgumentError('Expected the key as base64 text');
  const raw = Buffer.from(e.key.trim(), 'base64');
  if (raw.length !== KEY_LENGTH || raw.toString('base64') !== e.key.trim()) throw new InvalidArgumentError(`Expected the key as base64 of ${KEY_LENGTH} bytes`);
  const key = await loadKey({ raw });
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const file = join(keysDir, `${key.id}.key`);
  try {
    await writeKeyFile(file, raw);
  } catch (err) {
    // The same key sent again: its file (named by its id) is already there.
    if (!(err instanceof DestinationNotEmptyError)) throw err;
  }
  return { mode: 'key', keyFile: file };
}
