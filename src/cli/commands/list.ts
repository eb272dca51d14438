/** list: `pagevault list` — the chains and restore points on a destination (a folder or URL). */
import { listAllChains, openSink, readManifest, redact } from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { formatBytes } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'list',
  summary: 'List the backup chains and restore points on a destination (folder or URL).',
  usage: 'pagevault list --dest DIR|URL [--database NAME] [--json]',
  description: 'Reads every chain manifest (snapshot and JSON chains) and prints each file in time order with its kind, transaction id, size and time.\nA chain whose manifest cannot be read is reported as broken, not skipped.',
  options: {
    dest: { kind: 'string', value: 'DIR|URL', help: 'destination (see `pagevault backup --help` for URLs and credentials)', required: true },
    database: { kind: 'string', value: 'NAME', help: 'only chains of this database name' },
    json: { kind: 'boolean', help: 'print the result as JSON' },
  },
  examples: ['pagevault list --dest /backups', "pagevault list --dest 's3://bucket/backups?region=eu-west-1' --json"],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const sink = await openSink(o.dest as string);
  try {
    const chains = (await listAllChains(sink)).filter((c) => o.database === undefined || c.database === o.database);
    const out = [];
    for (const c of chains) {
      try {
        const m = await readManifest(sink, c.folder);
        out.push({ chain: c.folder, database: c.database, type: c.type, encrypted: m.encrypted, files: m.files.map((f) => ({ name: f.name, kind: f.kind, txnId: f.txnId, size: f.size, created: f.created, ...(f.lastEtag != null ? { lastEtag: f.lastEtag } : {}) })) });
      } catch (err) {
        out.push({ chain: c.folder, database: c.database, type: c.type, error: `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}` });
      }
    }
    if (o.json) io.json({ destination: sink.name, chains: out });
    else {
      io.out(`${redact(sink.name)}: ${out.length} chain(s)`);
      for (const c of out) {
        io.out(`${c.chain}  (${c.type}${'encrypted' in c && c.encrypted ? ', encrypted' : ''})`);
        if ('error' in c) io.out(`  BROKEN: ${c.error}`);
        else for (const f of c.files) io.out(`  ${f.name}  txn ${f.txnId}  ${formatBytes(f.size)}`);
      }
    }
    return out.some((c) => 'error' in c) ? 1 : 0;
  } finally {
    await sink.close();
  }
}
