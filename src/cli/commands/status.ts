/** status: `pagevault status` — tasks, a running or finished operation, and history, from a server. */
import type { OperationRecord, TaskStatus } from '../../index.js';
import { UsageError, type CommandSpec, type ParsedOptions } from '../args.js';
import type { Io } from '../io.js';
import { formatBytes } from '../output.js';
import { clientFrom, SERVER_OPTIONS } from '../remote.js';

export const spec: CommandSpec = {
  name: 'status',
  summary: 'Show a server\'s tasks (status, last and next backups, errors), an operation, or the history.',
  usage: 'pagevault status --url URL [--task TASK] [--operation ID] [--history N] [--json]',
  description: 'Without --task or --operation: every task, one line each, then the running and queued operations.\n--task: one task in detail with its recent runs. --operation: one operation (poll it while it runs).',
  options: {
    ...SERVER_OPTIONS,
    task: { kind: 'string', value: 'TASK', help: 'one task (id or name), with its history' },
    operation: { kind: 'string', value: 'ID', help: 'one operation' },
    history: { kind: 'int', value: 'N', help: 'how many past operations to show', default: 10, min: 0, max: 1000 },
    json: { kind: 'boolean', help: 'print JSON' },
  },
  examples: ['pagevault status --url http://127.0.0.1:8470', 'pagevault status --url http://127.0.0.1:8470 --task orders-hourly --history 20'],
};

const ago = (iso: string | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

/** formatOperation: one line for an operation. */
export function formatOperation(op: OperationRecord): string {
  const what = op.type === 'restore' ? `restore into ${op.database}` : `${op.trigger} ${op.kind ?? ''} ${op.backupType ?? ''} of ${op.database}`.replace(/\s+/g, ' ');
  const p = op.progress;
  const uploads = p?.destinations && p.destinations.length > 1 ? ` (${p.destinations.map((d) => `${d.destination}: ${formatBytes(d.bytes)}`).join(', ')})` : '';
  const progress = op.isRunning && p ? ` ${p.done}/${p.total} ${p.unit}, ${formatBytes(p.bytesOut)} written${uploads}` : '';
  const time = op.durationMs !== undefined ? ` in ${(op.durationMs / 1000).toFixed(1)}s` : '';
  const err = op.error ? ` — ${op.error.code}: ${op.error.message}` : '';
  return `${ago(op.endedAt ?? op.startedAt ?? op.queuedAt)}  ${op.status.padEnd(9)} ${what}${progress}${time}${op.coalesced ? ` (+${op.coalesced} folded)` : ''}${err}  [${op.id}]`;
}

/** formatTaskStatus: one line, or (detail) several, for a task. */
export function formatTaskStatus(s: TaskStatus, detail: boolean): string {
  const t = s.task;
  const next = s.nextBackup ? `next ${s.nextBackup.kind} ${ago(s.nextBackup.at)}` : 'no next run';
  if (!detail) return `${t.name}  [${s.status}]  ${t.database} ${t.type}  ${next}  last full ${ago(s.lastFull?.at)}  last incremental ${ago(s.lastIncremental?.at)}${s.lastError ? `  error: ${s.lastError.code}` : ''}`;
  const lines = [
    `task ${t.name} (${t.id})`,
    `  status:       ${s.status}${s.delayedUntil ? ` (delayed until ${ago(s.delayedUntil)})` : ''}`,
    `  database:     ${t.database} (${t.type})`,
    `  schedule:     full ${t.fullCron ?? '-'}, incremental ${t.incrementalCron ?? '-'} (${t.timeZone})`,
    `  destinations: ${s.destinations.join(', ')}`,
    `  retention:    ${t.retention.enabled ? `${Math.round(t.retention.minimumAgeMs / 3_600_000)}h` : 'off'}`,
    `  encryption:   ${t.encryption.mode === 'key' ? `key (${t.encryption.keyFile ? `file ${t.encryption.keyFile}` : `env ${t.encryption.keyEnv}`})` : 'none'}`,
    `  next backup:  ${s.nextBackup ? `${s.nextBackup.kind} at ${ago(s.nextBackup.at)}` : '-'}`,
    `  last full:    ${s.lastFull ? `${ago(s.lastFull.at)} ${s.lastFull.chain}/${s.lastFull.file} txn ${s.lastFull.txnId} in ${(s.lastFull.durationMs / 1000).toFixed(1)}s${s.lastFull.pinnedMs !== undefined ? `, pinned ${(s.lastFull.pinnedMs / 1000).toFixed(2)}s` : ''}` : '-'}`,
    `  last incr.:   ${s.lastIncremental ? `${ago(s.lastIncremental.at)} ${s.lastIncremental.chain}/${s.lastIncremental.file} txn ${s.lastIncremental.txnId} in ${(s.lastIncremental.durationMs / 1000).toFixed(1)}s` : '-'}`,
    `  last error:   ${s.lastError ? `${ago(s.lastError.at)} ${s.lastError.code}: ${s.lastError.message}` : '-'}`,
  ];
  if (s.running) lines.push(`  running:      ${formatOperation(s.running)}`);
  for (const q of s.queued) lines.push(`  queued:       ${formatOperation(q)}`);
  return lines.join('\n');
}

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  if (o.url === undefined) throw new UsageError('missing required option --url (the pagevault server)');
  if (o.task !== undefined && o.operation !== undefined) throw new UsageError('give --task or --operation, not both');
  const client = clientFrom(o);
  if (o.operation !== undefined) {
    const op = await client.operation(o.operation as string);
    if (o.json) io.json(op);
    else io.out(formatOperation(op));
    return 0;
  }
  const limit = o.history as number;
  if (o.task !== undefined) {
    const s = await client.task(o.task as string);
    const history = limit > 0 ? await client.operations({ task: s.task.id, limit }) : [];
    if (o.json) io.json({ ...s, history });
    else {
      io.out(formatTaskStatus(s, true));
      if (history.length) io.out('  history:');
      for (const op of history) io.out(`    ${formatOperation(op)}`);
    }
    return 0;
  }
  const [tasks, history] = await Promise.all([client.tasks(), limit > 0 ? client.operations({ limit }) : Promise.resolve([])]);
  if (o.json) io.json({ tasks, operations: history });
  else {
    if (tasks.length === 0) io.out('no tasks');
    for (const s of tasks) io.out(formatTaskStatus(s, false));
    if (history.length) io.out('operations (newest first):');
    for (const op of history) io.out(`  ${formatOperation(op)}`);
  }
  return 0;
}
