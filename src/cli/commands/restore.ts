/** restore: `pagevault restore` — rebuild an environment from a snapshot chain. */
import { restoreSnapshot } from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { KEY_OPTIONS, keyFromOptions } from '../key-options.js';
import { formatBytes, formatCount } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'restore',
  summary: 'Restore a snapshot chain (the full and its incrementals, up to a point) into a new environment.',
  usage: 'pagevault restore --from CHAIN_DIR --to DIR [--upto FILE|TXNID] [--key-file FILE] [--json]',
  description: 'Checks every file, chunk and hash; writes under a temporary name and renames into place only when complete.\nRefuses a destination that already holds anything.',
  options: {
    from: { kind: 'string', value: 'CHAIN_DIR', help: 'chain folder (<dest>/<UTC time>.<name>.snapshot)', required: true },
    to: { kind: 'string', value: 'DIR', help: 'environment directory to create (must not exist, or be empty)', required: true },
    upto: { kind: 'string', value: 'FILE|TXNID', help: 'last file to apply, by name or transaction id (default: all)' },
    compact: { kind: 'boolean', help: 'compact (defragment) the restored environment: same content, no free pages' },
    ...KEY_OPTIONS,
    json: { kind: 'boolean', help: 'print the result as JSON' },
    quiet: { kind: 'boolean', help: 'no progress lines' },
  },
  examples: ['pagevault restore --from /backups/2026-11-25T09-00-00.000Z.data.snapshot --to ./restored'],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const key = await keyFromOptions(o);
  const upto = o.upto === undefined ? undefined : /^\d+$/.test(o.upto as string) ? Number(o.upto) : (o.upto as string);
  const r = await restoreSnapshot({
    from: o.from as string,
    to: o.to as string,
    upto,
    key,
    compact: o.compact === true,
    signal: io.signal,
    onProgress: o.quiet ? undefined : (p) => io.err(`restore: applied ${p.fileIndex + 1}/${p.files} ${p.file} (${formatBytes(p.bytesRead)} read)`),
  });
  if (o.json) io.json(r);
  else io.out(`restored txn ${r.txnId} into ${r.to}: ${r.files.length} file(s), ${formatCount(r.pages)} pages, ${formatBytes(r.bytesRead)} read in ${r.seconds.toFixed(2)}s`);
  return 0;
}
