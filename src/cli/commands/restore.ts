/** restore: `pagevault restore` — rebuild an environment from a chain of either type. */
import { basename } from 'node:path';
import { restore } from '../../index.js';
import { UsageError, type CommandSpec, type ParsedOptions } from '../args.js';
import { KEY_OPTIONS, keyFromOptions, remoteEncryption } from '../key-options.js';
import { clientFrom, failIfNotSucceeded, SERVER_OPTIONS, waitForOperation } from '../remote.js';
import { formatBytes, formatCount } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'restore',
  summary: 'Restore a chain (the full and its incrementals, up to a point) into a new environment.',
  usage: 'pagevault restore --from|--source CHAIN --to|--destination DIR [--upto FILE|TXNID] [--compact|--defrag] [--key-file FILE] [--skip-indexes] [--json]\n       pagevault restore --url http://HOST:PORT --source CHAIN --database-name NAME [--upto FILE|TXNID] [--defrag] [--no-wait] [--start-timeout S] [--api-key KEY]',
  description: [
    'Works for snapshot chains (<UTC time>.<name>.snapshot: pages written back) and JSON backup chains',
    '(<UTC time>.<name>.backup: documents loaded in batches, incrementals applied in order, then indexes rebuilt',
    'from their definitions). Checks every file, chunk and hash; writes under a temporary name and renames into',
    'place only when complete. Refuses a destination that already holds anything.',
    'With --url a pagevault server restores the chain into a new hosted database --database-name (default: the',
    'last part of --destination); it never restores over an existing database, runs one restore at a time, and a',
    'restore waits up to --start-timeout seconds for the one before it. Paths and URLs are then the server\'s.',
  ].join('\n'),
  options: {
    from: { kind: 'string', value: 'CHAIN', help: 'chain folder (<dest>/<UTC time>.<name>.snapshot or .backup), or <destination URL>/<chain folder> (s3://, azure://, gs://, ftp://, sftp://; streamed)' },
    source: { kind: 'string', value: 'CHAIN', help: 'the same as --from' },
    to: { kind: 'string', value: 'DIR', help: 'environment directory to create (must not exist, or be empty)' },
    destination: { kind: 'string', value: 'DIR', help: 'the same as --to' },
    defrag: { kind: 'boolean', help: 'the same as --compact' },
    ...SERVER_OPTIONS,
    'database-name': { kind: 'string', value: 'NAME', help: 'with --url: name of the new hosted database' },
    'no-wait': { kind: 'boolean', help: 'with --url: start the restore and print its operation id without waiting' },
    'start-timeout': { kind: 'int', value: 'S', help: 'with --url: seconds to wait for a running restore to finish before failing (PAGEVAULT_ERR_RESTORE_BUSY)', min: 0, default: 60 },
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
    'pagevault restore --url http://127.0.0.1:8470 --source /backups/2026-11-25T09-00-00.000Z.orders.snapshot --database-name orders-restored',
  ],
};

/** one: the value of an option given under either of two names (both at once is a UsageError). */
function one(o: ParsedOptions, a: string, b: string): string | undefined {
  if (o[a] !== undefined && o[b] !== undefined) throw new UsageError(`--${a} and --${b} are the same option; give one`);
  return (o[a] ?? o[b]) as string | undefined;
}

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const from = one(o, 'from', 'source');
  if (from === undefined) throw new UsageError('missing required option --from (or --source): the chain to restore');
  const upto = o.upto === undefined ? undefined : /^\d+$/.test(o.upto as string) ? Number(o.upto) : (o.upto as string);
  const compact = o.compact === true || o.defrag === true;
  if (o.url !== undefined) return runRemote(o, io, from, upto, compact);
  for (const flag of ['database-name', 'no-wait', 'api-key']) if (o[flag] !== undefined && o[flag] !== false) throw new UsageError(`--${flag} needs --url`);
  const to = one(o, 'to', 'destination');
  if (to === undefined) throw new UsageError('missing required option --to (or --destination): the environment directory to create');
  const key = await keyFromOptions(o);
  let lastLine = 0;
  const r = await restore({
    from,
    to,
    upto,
    key,
    compact,
    skipIndexes: o['skip-indexes'] === true,
    signal: io.signal,
    onProgress: o.quiet
      ? undefined
      : (p) => {
          const q = p as typeof p & { phase?: string; records?: number; indexedDocs?: number; docsTotal?: number };
          if (q.phase === undefined) {
            // Snapshot chains are written newest file first (each page once), so the full comes last.
            io.err(`restore: wrote ${p.fileIndex + 1}/${p.files} (newest first) ${p.file} (${formatBytes(p.bytesRead)} read)`);
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

/** runRemote: a restore into a new hosted database on a server (`--url`). */
async function runRemote(o: ParsedOptions, io: Io, source: string, upto: string | number | undefined, defrag: boolean): Promise<number> {
  const dest = one(o, 'to', 'destination');
  const database = (o['database-name'] as string | undefined) ?? (dest ? basename(dest.replace(/\/+$/, '')) : undefined);
  if (!database) throw new UsageError('--url needs --database-name NAME (or --destination DIR, whose last part names the new database)');
  const client = clientFrom(o);
  const op = await client.restore({ source, database, ...(upto !== undefined ? { upto } : {}), defrag, encryption: remoteEncryption(o), startTimeoutMs: (o['start-timeout'] as number) * 1000 });
  if (o['no-wait']) {
    if (o.json) io.json(op);
    else io.out(`started operation ${op.id} (${op.status}); follow it with: pagevault status --url ${String(o.url)} --operation ${op.id}`);
    return 0;
  }
  const final = await waitForOperation(client, op, io, { quiet: o.quiet === true, label: 'restore' });
  if (o.json) io.json(final);
  failIfNotSucceeded(final);
  if (!o.json) {
    const r = final.result as { database: string; path: string; files: number; txnId?: number };
    io.out(`restored ${r.files} file(s)${r.txnId !== undefined ? ` up to txn ${r.txnId}` : ''} into database ${r.database} (${r.path}) in ${((final.durationMs ?? 0) / 1000).toFixed(2)}s`);
  }
  return 0;
}
