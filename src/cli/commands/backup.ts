/** backup: `pagevault backup` — one snapshot backup (full or incremental) into a destination folder. */
import { backupSnapshot } from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { KEY_OPTIONS, keyFromOptions } from '../key-options.js';
import { formatBytes, formatCount, ProgressBar } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'backup',
  summary: 'Back up a database online: a consistent snapshot of its pages as of the start, while writers go on.',
  usage: 'pagevault backup --db PATH --dest DIR [--type snapshot] [--incremental] [--key-file FILE] [--json]',
  description: [
    'Writes <DIR>/<UTC time>.<name>.snapshot/<UTC time>.full-snapshot (or .incremental-snapshot) and the chain',
    'manifest. --incremental ships only the pages written since the newest chain\'s last backup, and takes a full',
    '(saying why) when there is no usable chain. One backup of a database runs at a time.',
  ].join('\n'),
  options: {
    db: { kind: 'string', value: 'PATH', help: 'environment directory (or data file of a noSubdir environment)', required: true },
    dest: { kind: 'string', value: 'DIR', help: 'destination folder', required: true },
    type: { kind: 'string', value: 'TYPE', help: 'backup type', default: 'snapshot', choices: ['snapshot'] },
    incremental: { kind: 'boolean', help: 'add an incremental to the newest chain' },
    name: { kind: 'string', value: 'NAME', help: 'database name in folder names (default: the folder name)' },
    compression: { kind: 'string', value: 'ALGO', help: 'compression', default: 'zstd', choices: ['zstd', 'gzip', 'none'] },
    level: { kind: 'int', value: 'N', help: 'compression level (zstd 1-19, gzip 1-9)', min: 1, max: 19 },
    staging: { kind: 'boolean', help: 'copy pages to a local temp file first and release the snapshot sooner' },
    ...KEY_OPTIONS,
    json: { kind: 'boolean', help: 'print the result as JSON' },
    quiet: { kind: 'boolean', help: 'no progress bar' },
  },
  examples: ['pagevault backup --db ./data --dest /backups', 'pagevault backup --db ./data --dest /backups --incremental --key-file backup.key --json'],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const key = await keyFromOptions(o);
  let bar: ProgressBar | undefined;
  const r = await backupSnapshot({
    db: o.db as string,
    destination: o.dest as string,
    incremental: o.incremental === true,
    name: o.name as string | undefined,
    compression: o.compression as 'zstd' | 'gzip' | 'none',
    level: o.level as number | undefined,
    staging: o.staging === true,
    key,
    signal: io.signal,
    onProgress: o.quiet
      ? undefined
      : (p) => {
          bar ??= new ProgressBar('backup', p.totalPages, { unit: ' pages', stream: io.stderr });
          bar.update(p.pages, `${formatBytes(p.bytesIn)} read, ${formatBytes(p.bytesOut)} written`);
        },
  });
  bar?.done();
  if (o.json) io.json(r);
  else {
    io.out(`${r.kind} of txn ${r.txnId}${r.baseTxnId ? ` (since txn ${r.baseTxnId})` : ''}: ${formatCount(r.pages)} pages, ${formatBytes(r.plaintextBytes)} → ${formatBytes(r.bytesWritten)} (${r.compression}${r.encrypted ? ', AES-256-GCM' : ''}) in ${r.seconds.toFixed(2)}s`);
    io.out(`file: ${r.destination}/${r.chain}/${r.file}`);
    io.out(`snapshot pinned ${(r.pinnedMs / 1000).toFixed(2)}s; data file grew ${formatBytes(r.dataFileGrowthBytes)} meanwhile`);
    if (r.fullReason) io.out(`took a full backup: ${r.fullReason}`);
  }
  return 0;
}
