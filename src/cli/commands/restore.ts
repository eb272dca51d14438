/** restore: `pagevault restore` — rebuild an environment from a chain of either type. */
import { restore } from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { KEY_OPTIONS, keyFromOptions } from '../key-options.js';
import { formatBytes, formatCount } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'restore',
  summary: 'Restore a chain (the full and its incrementals, up to a point) into a new environment.',
  usage: 'pagevault restore --from CHAIN_DIR --to DIR [--upto FILE|TXNID] [--key-file FILE] [--skip-indexes] [--json]',
  description: [
    'Works for snapshot chains (<UTC time>.<name>.snapshot: pages written back) and JSON backup chains',
    '(<UTC time>.<name>.backup: documents loaded in batches, incrementals applied in order, then indexes rebuilt',
    'from their definitions). Checks every file, chunk and hash; writes under a temporary name and renames into',
    'place only when complete. Refuses a destination that already holds anything.',
  ].join('\n'),
  options: {
    from: { kind: 'string', value: 'CHAIN', help: 'chain folder (<dest>/<UTC time>.<name>.snapshot or .backup), or <destination URL>/<chain folder> (s3://, azure://, gs://, ftp://, sftp://; streamed)', required: true },
    to: { kind: 'string', value: 'DIR', help: 'environment directory to create (must not exist, or be empty)', required: true },
    upto: { kind: 'string', value: 'FILE|TXNID', help: 'last file to apply, by name or transaction id (default: all)' },
    compact: { kind: 'boolean', help: 'snapshot chains: compact (defragment) the restored environment' },
    'skip-indexes': { kind: 'boolean', help: 'JSON chains: store index definitions, build their data later (rebuildIndex)' },
    ...KEY_OPTIONS,
    json: { kind: 'boolean', help: 'print the result as JSON' },
    quiet: { kind: 'boolean', help: 'no progress lines' },
  },
  examples: [
    'pagevault restore --from /backups/2026-11-25T09-00-00.000Z.data.snapshot --to ./restored',
    'pagevault restore --from /backups/2026-11-25T09-00-00.000Z.data.backup --to ./restored --upto 2026-11-25T10-00-00.000Z.incremental-backup',
  ],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const key = await keyFromOptions(o);
  const upto = o.upto === undefined ? undefined : /^\d+$/.test(o.upto as string) ? Number(o.upto) : (o.upto as string);
  let lastLine = 0;
  const r = await restore({
    from: o.from as string,
    to: o.to as string,
    upto,
    key,
    compact: o.compact === true,
    skipIndexes: o['skip-indexes'] === true,
    signal: io.signal,
    onProgress: o.quiet
      ? undefined
      : (p) => {
          const q = p as typeof p & { phase?: string; records?: number; indexedDocs?: number; docsTotal?: number };
          if (q.phase === undefined) {
            io.err(`restore: applied ${p.fileIndex + 1}/${p.files} ${p.file} (${formatBytes(p.bytesRead)} read)`);
            return;
          }
          const t = performance.now();
          if (t - lastLine < 2000) return;
          lastLine = t;
          if (q.phase === 'records') io.err(`restore: file ${p.fileIndex + 1}/${p.files} ${p.file}: ${formatCount(q.records ?? 0)} records (${formatBytes(p.bytesRead)} read)`);
          else io.err(`restore: rebuilding indexes: ${formatCount(q.indexedDocs ?? 0)}/${formatCount(q.docsTotal ?? 0)} documents`);
        },
  });
  if (o.json) io.json(r);
  else if ('pages' in r) io.out(`restored txn ${r.txnId} into ${r.to}: ${r.files.length} file(s), ${formatCount(r.pages)} pages, ${formatBytes(r.bytesRead)} read in ${r.seconds.toFixed(2)}s`);
  else {
    io.out(`restored ${r.kind === 'docdb' ? `etag ${r.lastEtag ?? 0}` : `txn ${r.txnId}`} into ${r.to}: ${r.files.length} file(s), ${formatCount(r.docs)} documents, ${formatCount(r.tombstones)} tombstones, ${formatCount(r.entries)} entries in ${r.recordSeconds.toFixed(2)}s; ${r.indexes} index(es), ${formatCount(r.indexEntries)} entries rebuilt in ${r.indexSeconds.toFixed(2)}s`);
  }
  return 0;
}
