/** tasks: `pagevault tasks …` — manage a server's periodic backup tasks from the terminal. */
import type { TaskInput, TaskStatus } from '../../index.js';
import { UsageError, type CommandSpec, type ParsedOptions } from '../args.js';
import { parseDuration } from '../duration.js';
import type { Io } from '../io.js';
import { KEY_OPTIONS, remoteEncryption } from '../key-options.js';
import { clientFrom, SERVER_OPTIONS } from '../remote.js';
import { formatTaskStatus } from './status.js';

export const spec: CommandSpec = {
  name: 'tasks',
  summary: 'Create, change, run, delay and delete a server\'s periodic backup tasks.',
  usage: [
    'pagevault tasks list --url URL',
    '       pagevault tasks show TASK --url URL',
    '       pagevault tasks add --url URL --database NAME --dest URL [--dest …] [--type snapshot|backup] [--full-cron CRON] [--incremental-cron CRON] [--time-zone TZ] [--retention 7d|off] [--name NAME] [--key-file FILE|--key-env VAR] [--disabled]',
    '       pagevault tasks update TASK --url URL [same options as add]',
    '       pagevault tasks enable|disable|delete TASK --url URL',
    '       pagevault tasks run TASK --url URL [--kind full|incremental]',
    '       pagevault tasks delay TASK --url URL --for 2h | --until ISO | --clear',
  ].join('\n'),
  description: [
    'TASK is a task id or name. Crons have 5 fields (minute hour day month weekday) or 6 with seconds first and',
    'are read in --time-zone (default UTC). With only --incremental-cron the first run is a full; with only',
    '--full-cron every run is a full. --retention removes whole chains whose newest file is older than the',
    'period, on every destination, after each scheduled backup (the newest complete chain always stays; one-time',
    'backups are never removed). `run` is "backup now": it does not change the schedule. `delay` skips scheduled',
    'runs until the time given. Keys and destination credentials are the server\'s (its files and environment).',
  ].join('\n'),
  positionals: true,
  options: {
    ...SERVER_OPTIONS,
    database: { kind: 'string', value: 'NAME', help: 'add/update: the hosted database' },
    dest: { kind: 'string', value: 'URL', help: 'add/update: destination (repeat for several)', multiple: true },
    type: { kind: 'string', value: 'TYPE', help: 'add/update: snapshot (pages) or backup (JSON)', choices: ['snapshot', 'backup'] },
    'full-cron': { kind: 'string', value: 'CRON', help: 'add/update: full backup schedule ("none" removes it)' },
    'incremental-cron': { kind: 'string', value: 'CRON', help: 'add/update: incremental backup schedule ("none" removes it)' },
    'time-zone': { kind: 'string', value: 'TZ', help: 'add/update: IANA time zone of the crons (default UTC)' },
    retention: { kind: 'string', value: 'PERIOD', help: 'add/update: keep chains this long (7d, 36h …) or "off"' },
    name: { kind: 'string', value: 'NAME', help: 'add/update: task name (default: generated from type and destinations)' },
    disabled: { kind: 'boolean', help: 'add: create the task disabled' },
    'preferred-node': { kind: 'string', value: 'NODE', help: 'add/update: node for the cluster mode to come (recorded only)' },
    compression: { kind: 'string', value: 'ALGO', help: 'add/update: compression', choices: ['zstd', 'gzip', 'none'] },
    'key-file': KEY_OPTIONS['key-file'],
    'key-env': KEY_OPTIONS['key-env'],
    'no-encryption': { kind: 'boolean', help: 'update: stop encrypting' },
    kind: { kind: 'string', value: 'KIND', help: 'run: full or incremental', default: 'full', choices: ['full', 'incremental'] },
    for: { kind: 'string', value: 'PERIOD', help: 'delay: for this long (2h, 1d …)' },
    until: { kind: 'string', value: 'ISO', help: 'delay: until this time' },
    clear: { kind: 'boolean', help: 'delay: stop delaying' },
    json: { kind: 'boolean', help: 'print JSON' },
  },
  examples: [
    "pagevault tasks add --url http://127.0.0.1:8470 --database orders --dest /backups --dest 's3://bucket/orders' --full-cron '0 2 * * 0' --incremental-cron '0 * * * *' --retention 7d",
    'pagevault tasks run "snapshot to /backups" --url http://127.0.0.1:8470 --kind incremental',
    'pagevault tasks delay orders-hourly --url http://127.0.0.1:8470 --for 4h',
  ],
};

/** taskInputFrom: the add/update options as a TaskInput (only what was given). */
function taskInputFrom(o: ParsedOptions): TaskInput {
  const cron = (v: unknown): string | null | undefined => (v === undefined ? undefined : v === 'none' ? null : (v as string));
  const input: TaskInput = {};
  if (o.database !== undefined) input.database = o.database as string;
  if (o.dest !== undefined) input.destinations = o.dest as string[];
  if (o.type !== undefined) input.type = o.type as 'snapshot' | 'backup';
  if (o['full-cron'] !== undefined) input.fullCron = cron(o['full-cron']);
  if (o['incremental-cron'] !== undefined) input.incrementalCron = cron(o['incremental-cron']);
  if (o['time-zone'] !== undefined) input.timeZone = o['time-zone'] as string;
  if (o.retention !== undefined) input.retention = o.retention === 'off' ? { enabled: false, minimumAgeMs: 0 } : { enabled: true, minimumAgeMs: parseDuration(o.retention as string, 'retention') };
  if (o.name !== undefined) input.name = o.name as string;
  if (o['preferred-node'] !== undefined) input.preferredNode = o['preferred-node'] as string;
  if (o.compression !== undefined) input.compression = o.compression as 'zstd' | 'gzip' | 'none';
  const enc = remoteEncryption(o);
  if (enc) input.encryption = enc;
  if (o['no-encryption']) {
    if (enc) throw new UsageError('--no-encryption and a key option exclude each other');
    input.encryption = { mode: 'none' };
  }
  return input;
}

export async function run(o: ParsedOptions, io: Io, positionals: string[] = []): Promise<number> {
  const [verb, id, ...extra] = positionals;
  if (!verb) throw new UsageError('expected a verb: list, show, add, update, enable, disable, delete, run, delay');
  if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  if (o.url === undefined) throw new UsageError('missing required option --url (the pagevault server)');
  const needsId = ['show', 'update', 'enable', 'disable', 'delete', 'run', 'delay'];
  if (needsId.includes(verb) && !id) throw new UsageError(`tasks ${verb} needs a TASK (id or name)`);
  if (!needsId.includes(verb) && id) throw new UsageError(`tasks ${verb} takes no TASK argument`);
  const client = clientFrom(o);
  const show = (value: unknown, human: () => void): number => {
    if (o.json) io.json(value);
    else human();
    return 0;
  };
  switch (verb) {
    case 'list': {
      const all = await client.tasks();
      return show(all, () => {
        if (all.length === 0) io.out('no tasks');
        for (const s of all) io.out(formatTaskStatus(s, false));
      });
    }
    case 'show': {
      const s = await client.task(id);
      return show(s, () => io.out(formatTaskStatus(s, true)));
    }
    case 'add': {
      const input = taskInputFrom(o);
      if (o.disabled) input.enabled = false;
      const t = await client.createTask(input);
      return show(t, () => io.out(`created task ${JSON.stringify(t.name)} (${t.id})`));
    }
    case 'update': {
      if (o.disabled) throw new UsageError('use `tasks disable TASK` to disable a task');
      const t = await client.updateTask(id, taskInputFrom(o));
      return show(t, () => io.out(`updated task ${JSON.stringify(t.name)} (${t.id})`));
    }
    case 'enable':
    case 'disable': {
      const t = await client.setEnabled(id, verb === 'enable');
      return show(t, () => io.out(`${verb}d task ${JSON.stringify(t.name)}`));
    }
    case 'delete': {
      await client.deleteTask(id);
      return show({ deleted: id }, () => io.out(`deleted task ${JSON.stringify(id)} (its backups stay on the destinations)`));
    }
    case 'run': {
      const op = await client.backupNow(id, o.kind as 'full' | 'incremental');
      return show(op, () => io.out(`operation ${op.id}: ${op.kind} backup ${op.status}${op.queuedBehind ? ` behind ${op.queuedBehind}` : ''}${op.coalesced ? ' (folded into a queued run)' : ''}`));
    }
    case 'delay': {
      const given = ['for', 'until', 'clear'].filter((k) => o[k] !== undefined && o[k] !== false);
      if (given.length !== 1) throw new UsageError('tasks delay needs exactly one of --for PERIOD, --until ISO, --clear');
      let s: TaskStatus;
      if (o.clear) s = await client.delay(id, null);
      else if (o.for !== undefined) s = await client.delay(id, { durationMs: parseDuration(o.for as string, 'for') });
      else {
        const until = new Date(o.until as string);
        if (Number.isNaN(until.getTime())) throw new UsageError(`--until must be a date and time (got ${JSON.stringify(o.until)})`);
        s = await client.delay(id, until);
      }
      return show(s, () => io.out(s.delayedUntil ? `task ${JSON.stringify(s.task.name)} delayed until ${s.delayedUntil}` : `task ${JSON.stringify(s.task.name)} is no longer delayed`));
    }
    default:
      throw new UsageError(`unknown verb ${JSON.stringify(verb)}: expected list, show, add, update, enable, disable, delete, run or delay`);
  }
}
