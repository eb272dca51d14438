/** verify: `pagevault verify` — check a chain's files, chunks and hashes (and, with --deep, restore and read it). */
import { verifyChain } from '../../index.js';
import { UsageError, type CommandSpec, type ParsedOptions } from '../args.js';
import { KEY_OPTIONS, keyFromOptions } from '../key-options.js';
import { formatBytes, formatCount } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'verify',
  summary: 'Verify a backup chain: every file, checksum, authentication tag and hash; --deep also restores and reads it.',
  usage: 'pagevault verify CHAIN_DIR [--deep] [--key-file FILE] [--json]',
  positionals: true,
  options: {
    deep: { kind: 'boolean', help: 'restore into a temporary folder and read every entry of every database' },
    ...KEY_OPTIONS,
    json: { kind: 'boolean', help: 'print the result as JSON' },
  },
  examples: ['pagevault verify /backups/2026-11-25T09-00-00.000Z.data.snapshot --deep'],
};

export async function run(o: ParsedOptions, io: Io, positionals: string[] = []): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('expected one CHAIN_DIR');
  const key = await keyFromOptions(o);
  const r = await verifyChain({ from: positionals[0], key, deep: o.deep === true, signal: io.signal });
  if (o.json) io.json({ ok: true, ...r });
  else {
    for (const f of r.files) io.out(`ok  ${f.name}  txn ${f.txnId}  ${formatBytes(f.bytes)}  ${f.chunks} chunks`);
    if (r.deep) io.out(`ok  deep: restored txn ${r.deep.txnId}, read ${formatCount(r.deep.entries)} entries in ${r.deep.databases} databases`);
    io.out(`chain ${r.chain} verified`);
  }
  return 0;
}
