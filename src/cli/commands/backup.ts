/** backup: `pagevault backup` — one backup (page snapshot or JSON), full or incremental, into a destination folder. */
import { readFile } from 'node:fs/promises';
import { backup } from '../../index.js';
import { UsageError, type CommandSpec, type ParsedOptions } from '../args.js';
import { KEY_OPTIONS, keyFromOptions, remoteEncryption } from '../key-options.js';
import { formatBytes, formatCount, ProgressBar } from '../output.js';
import type { Io } from '../io.js';
import { DB_OPTIONS_OPTION, dbOptionsFrom } from '../db-options.js';
import { clientFrom, failIfNotSucceeded, SERVER_OPTIONS, waitForOperation } from '../remote.js';

export const spec: CommandSpec = {
  name: 'backup',
  summary: 'Back up a database online: a consistent copy as of the start (pages or JSON), while writers go on.',
  usage: 'pagevault backup --db PATH --dest DIR|URL [--dest DIR|URL …] [--type snapshot|backup] [--incremental] [--key-file FILE] [--json]\n       pagevault backup --url http://HOST:PORT --database NAME --dest URL [--incremental] [--type backup|snapshot] [--nowait] [--timeout MS] [--api-key KEY]',
  description: [
    '--type snapshot (default) copies the raw pages: fast to restore, indexes included. Writes',
    '<DIR>/<UTC time>.<name>.snapshot/<UTC time>.full-snapshot (or .incremental-snapshot) and the chain manifest;',
    '--incremental ships only the pages written since the chain\'s last backup.',
    '--type backup writes a JSON export (documents, index definitions, identities; no index data): smaller and',
    'portable, and restore rebuilds the indexes. Chains are <UTC time>.<name>.backup/; --incremental carries the',
    'documents and deletes since the chain\'s last etag (pagevault document databases only).',
    'Either type takes a full (saying why) when there is no usable chain. One backup of a database runs at a time.',
    'Several --dest get the same files in one read/compress/encrypt pass; credentials come from the environment',
    '(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AZURE_STORAGE_KEY or AZURE_STORAGE_SAS, FTP_PASSWORD, SFTP_PASSWORD or',
    'SFTP_PRIVATE_KEY_PATH) and never appear in output.',
    'With --url the backup is a one-time (manual) backup run by a pagevault server on its hosted database --database:',
    'progress is shown until it finishes (exit 1 if it fails) unless --nowait, which prints the operation id at once.',
    'Destination credentials and --key-file/--key-env then refer to the server\'s environment and files.',
    'A one-time backup is never removed by retention, and task backups never extend its chain.',
  ].join('\n'),
  options: {
    db: { kind: 'string', value: 'PATH', help: 'environment directory (or data file of a noSubdir environment); embedded mode' },
    ...SERVER_OPTIONS,
    database: { kind: 'string', value: 'NAME', help: 'with --url: the hosted database to back up' },
    nowait: { kind: 'boolean', help: 'with --url: start the backup and print its operation id without waiting' },
    timeout: { kind: 'int', value: 'MS', help: 'with --url: stop waiting after MS milliseconds (exit 1, PAGEVAULT_ERR_TIMEOUT; the backup goes on)', min: 1 },
    dest: { kind: 'string', value: 'DIR|URL', help: 'destination: a folder or a URL (file://, s3://, gs://, azure://, ftp://, ftps://, sftp://); repeat for several, written in one pass', required: true, multiple: true },
    upload: { kind: 'string', value: 'MODE', help: 'several destinations: fan-out = one pass to all at once; local-first = finish the local copy (or a temp file), then upload it to the others in parallel', default: 'fan-out', choices: ['fan-out', 'local-first'] },
    policy: { kind: 'string', value: 'POLICY', help: 'several destinations: all = fail if any fails; best-effort = succeed if one completes', default: 'all', choices: ['all', 'best-effort'] },
    type: { kind: 'string', value: 'TYPE', help: 'backup type: snapshot (pages) or backup (JSON)', default: 'snapshot', choices: ['snapshot', 'backup'] },
    incremental: { kind: 'boolean', help: 'add an incremental to the newest chain' },
    name: { kind: 'string', value: 'NAME', help: 'database name in folder names (default: the folder name)' },
    compression: { kind: 'string', value: 'ALGO', help: 'compression', default: 'zstd', choices: ['zstd', 'gzip', 'none'] },
    level: { kind: 'int', value: 'N', help: 'compression level (zstd 1-19, gzip 1-9)', min: 1, max: 19 },
    staging: { kind: 'boolean', help: 'snapshot: copy pages to a local temp file first and release the snapshot sooner' },
    'db-key-env': { kind: 'string', value: 'VAR', help: 'snapshot of a database lmdb-js encrypts: environment variable holding its encryptionKey (needed to open it and for incrementals; never stored)' },
    'db-key-file': { kind: 'string', value: 'FILE', help: 'the same, from a file (its first line)' },
    collections: { kind: 'string', value: 'A,B', help: 'backup type: only these collections (comma-separated)' },
    ...DB_OPTIONS_OPTION,
    ...KEY_OPTIONS,
    json: { kind: 'boolean', help: 'print the result as JSON' },
    quiet: { kind: 'boolean', help: 'no progress bar' },
  },
  examples: [
    'pagevault backup --db ./data --dest /backups',
    'pagevault backup --db ./data --dest /backups --incremental --key-file backup.key --json',
    'pagevault backup --db ./data --dest /backups --type backup --incremental',
    "AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… pagevault backup --db ./data --dest /backups --dest 's3://bucket/db?region=eu-west-1&storageClass=GLACIER_IR'",
    'PAGEVAULT_API_KEY=pv_… pagevault backup --url http://127.0.0.1:8470 --database orders --dest /backups --type backup',
  ],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  if (o.url !== undefined) return runRemote(o, io);
  if (o.db === undefined) throw new UsageError('missing required option --db (or --url and --database to back up through a server)');
  for (const flag of ['database', 'nowait', 'timeout', 'api-key']) if (o[flag] !== undefined && o[flag] !== false) throw new UsageError(`--${flag} needs --url`);
  const key = await keyFromOptions(o);
  const common = {
    db: o.db as string,
    destination: o.dest as string[],
    policy: o.policy as 'all' | 'best-effort',
    upload: o.upload as 'fan-out' | 'local-first',
    incremental: o.incremental === true,
    name: o.name as string | undefined,
    compression: o.compression as 'zstd' | 'gzip' | 'none',
    level: o.level as number | undefined,
    key,
    signal: io.signal,
  };
  let bar: ProgressBar | undefined;
  if (o.type === 'backup') {
    if (o['db-key-env'] !== undefined || o['db-key-file'] !== undefined) throw new UsageError('--db-key-env/--db-key-file apply to snapshots: a JSON backup cannot read a database lmdb-js encrypts');
    const r = await backup({
      ...common,
      type: 'backup',
      dbOptions: dbOptionsFrom(o['db-options']),
      collections: typeof o.collections === 'string' ? o.collections.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
      onProgress: o.quiet
        ? undefined
        : (p) => {
            bar ??= new ProgressBar('backup', p.estimatedRecords, { unit: ' records', stream: io.stderr });
            bar.update(p.records, `${formatBytes(p.bytesIn)} of JSON, ${formatBytes(p.bytesOut)} written`);
          },
    });
    bar?.done();
    if (o.json) io.json(r);
    else {
      const what = r.kind === 'incremental-backup' ? `etags ${r.baseEtag ?? 0}..${r.lastEtag ?? 0}` : `txn ${r.txnId}`;
      io.out(`${r.kind} of ${what}: ${formatCount(r.docs)} documents, ${formatCount(r.tombstones)} tombstones, ${formatCount(r.entries)} entries; ${formatBytes(r.plaintextBytes)} of JSON → ${formatBytes(r.bytesWritten)} (${r.compression}${r.encrypted ? ', AES-256-GCM' : ''}) in ${r.seconds.toFixed(2)}s`);
      for (const d of r.destinations) io.out(`${d.ok ? 'file' : 'FAILED'}: ${d.destination}/${r.chain}/${r.file}${d.ok ? '' : ` (${d.error})`}`);
      if (r.fallbacks > 0) io.out(`${formatCount(r.fallbacks)} value(s) JSON cannot express were carried as their stored bytes`);
      if (r.fullReason) io.out(`took a full backup: ${r.fullReason}`);
    }
    return 0;
  }
  if (o.collections !== undefined) io.err('pagevault backup: --collections applies to --type backup only; ignored');
  const r = await backup({
    ...common,
    staging: o.staging === true,
    dbKey: await dbKeyFromOptions(o),
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
    for (const d of r.destinations) io.out(`${d.ok ? 'file' : 'FAILED'}: ${d.destination}/${r.chain}/${r.file}${d.ok ? '' : ` (${d.error})`}`);
    io.out(`snapshot pinned ${(r.pinnedMs / 1000).toFixed(2)}s; data file grew ${formatBytes(r.dataFileGrowthBytes)} meanwhile`);
    if (r.fullReason) io.out(`took a full backup: ${r.fullReason}`);
  }
  return 0;
}

/** runRemote: a one-time backup on a server (`--url`). */
async function runRemote(o: ParsedOptions, io: Io): Promise<number> {
  if (typeof o.database !== 'string') throw new UsageError('--url needs --database NAME (the hosted database to back up)');
  if (o.db !== undefined) throw new UsageError('--db and --url exclude each other: --db backs up a local path, --url asks a server');
  const client = clientFrom(o);
  const op = await client.oneTimeBackup({
    database: o.database,
    type: o.type as 'snapshot' | 'backup',
    destinations: o.dest as string[],
    incremental: o.incremental === true,
    encryption: remoteEncryption(o),
    compression: o.compression as 'zstd' | 'gzip' | 'none',
  });
  if (o.nowait) {
    if (o.json) io.json(op);
    else io.out(`started operation ${op.id} (${op.status}); follow it with: pagevault status --url ${String(o.url)} --operation ${op.id}`);
    return 0;
  }
  const final = await waitForOperation(client, op, io, { timeoutMs: o.timeout as number | undefined, quiet: o.quiet === true, label: 'backup' });
  if (o.json) io.json(final);
  failIfNotSucceeded(final);
  if (!o.json) {
    const r = final.result as { fileKind: string; chain: string; file: string; txnId: number; bytesWritten: number; fullReason?: string; destinations: Array<{ destination: string; ok: boolean; error?: string }> };
    io.out(`${r.fileKind} of txn ${r.txnId}: ${formatBytes(r.bytesWritten)} written in ${((final.durationMs ?? 0) / 1000).toFixed(2)}s (operation ${final.id})`);
    for (const d of r.destinations) io.out(`${d.ok ? 'file' : 'FAILED'}: ${d.destination}/${r.chain}/${r.file}${d.ok ? '' : ` (${d.error})`}`);
    if (r.fullReason) io.out(`took a full backup: ${r.fullReason}`);
  }
  return 0;
}

/** dbKeyFromOptions: the database's own lmdb-js encryptionKey from --db-key-env or --db-key-file, if given. */
async function dbKeyFromOptions(o: ParsedOptions): Promise<string | undefined> {
  if (o['db-key-env'] !== undefined && o['db-key-file'] !== undefined) throw new UsageError('give --db-key-env or --db-key-file, not both');
  if (o['db-key-env'] !== undefined) {
    const value = process.env[o['db-key-env'] as string];
    if (!value) throw new UsageError(`environment variable ${String(o['db-key-env'])} is not set`);
    return value;
  }
  if (o['db-key-file'] !== undefined) return (await readFile(o['db-key-file'] as string, 'utf8')).split(/\r?\n/)[0];
  return undefined;
}
