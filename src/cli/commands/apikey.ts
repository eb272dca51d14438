/** apikey: `pagevault apikey create|list|revoke --data DIR` — the server's API keys. */
import { createApiKey, readApiKeys, revokeApiKey, serverPaths } from '../../index.js';
import { UsageError, type CommandSpec, type ParsedOptions } from '../args.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'apikey',
  summary: 'Manage the server\'s API keys: create (shown once), list, revoke.',
  usage: 'pagevault apikey create|list|revoke --data DIR [--name NAME] [--json]',
  description: 'Keys are stored hashed (SHA-256) in DIR/.pagevault/api-keys.json; a running server sees changes at its next request.\n`create` prints the new key once: store it where clients read it (PAGEVAULT_API_KEY).',
  positionals: true,
  options: {
    data: { kind: 'string', value: 'DIR', help: 'the server\'s data folder', required: true },
    name: { kind: 'string', value: 'NAME', help: 'create: a label for the key; revoke: the key\'s name or id' },
    json: { kind: 'boolean', help: 'print JSON' },
  },
  examples: ['pagevault apikey create --data /var/lib/pagevault --name ci', 'pagevault apikey revoke --data /var/lib/pagevault --name ci'],
};

export async function run(o: ParsedOptions, io: Io, positionals: string[] = []): Promise<number> {
  const file = serverPaths(o.data as string).apiKeys;
  const verb = positionals[0];
  if (positionals.length !== 1) throw new UsageError('expected one of: create, list, revoke');
  if (verb === 'create') {
    const { key, stored } = createApiKey(file, (o.name as string | undefined) ?? 'default');
    if (o.json) io.json({ key, id: stored.id, name: stored.name });
    else io.out(key);
    return 0;
  }
  if (verb === 'list') {
    const keys = readApiKeys(file).map(({ id, name, created }) => ({ id, name, created }));
    if (o.json) io.json(keys);
    else for (const k of keys) io.out(`${k.id}  ${k.name}  created ${k.created}`);
    return 0;
  }
  if (verb === 'revoke') {
    if (!o.name) throw new UsageError('revoke needs --name NAME|ID');
    if (!revokeApiKey(file, o.name as string)) throw new UsageError(`no API key named ${JSON.stringify(o.name)}`);
    io.out(`revoked ${String(o.name)}`);
    return 0;
  }
  throw new UsageError(`unknown verb ${JSON.stringify(verb)}: expected create, list or revoke`);
}
