/** key: `pagevault key generate FILE` — a new random 256-bit key file. */
import { generateKeyFile } from '../../index.js';
import { UsageError, type CommandSpec, type ParsedOptions } from '../args.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'key',
  summary: 'Create an encryption key file: `pagevault key generate --out FILE`.',
  usage: 'pagevault key generate --out FILE [--json]',
  description: 'Writes 32 random bytes as one line of base64, mode 0600, and refuses to overwrite a file.\nKeep the key apart from the backups: without it an encrypted backup cannot be restored.',
  positionals: true,
  options: {
    out: { kind: 'string', value: 'FILE', help: 'where to write the key', required: true },
    json: { kind: 'boolean', help: 'print the key id as JSON' },
  },
  examples: ['pagevault key generate --out ~/.pagevault/backup.key'],
};

export async function run(o: ParsedOptions, io: Io, positionals: string[] = []): Promise<number> {
  if (positionals[0] !== 'generate' || positionals.length > 1) throw new UsageError('expected `pagevault key generate --out FILE`');
  const key = await generateKeyFile(o.out as string);
  if (o.json) io.json({ file: o.out, keyId: key.id });
  else io.out(`wrote a new key to ${String(o.out)} (key id ${key.id}); keep it apart from the backups`);
  return 0;
}
