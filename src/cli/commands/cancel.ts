/** cancel: `pagevault cancel` — stop a queued or running operation on a server. */
import { UsageError, type CommandSpec, type ParsedOptions } from '../args.js';
import type { Io } from '../io.js';
import { clientFrom, SERVER_OPTIONS } from '../remote.js';
import { formatOperation } from './status.js';

export const spec: CommandSpec = {
  name: 'cancel',
  summary: 'Cancel a queued or running backup or restore on a server.',
  usage: 'pagevault cancel --url URL --operation ID [--wait] [--json]',
  description: 'A queued operation never starts; a running backup is aborted and leaves no file that looks complete (its\nchain manifest is not updated). --wait returns when the operation has stopped.',
  options: {
    ...SERVER_OPTIONS,
    operation: { kind: 'string', value: 'ID', help: 'the operation (from `pagevault status`)', required: true },
    wait: { kind: 'boolean', help: 'wait until it has stopped' },
    json: { kind: 'boolean', help: 'print JSON' },
  },
  examples: ['pagevault cancel --url http://127.0.0.1:8470 --operation 3f2c…'],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  if (o.url === undefined) throw new UsageError('missing required option --url (the pagevault server)');
  const client = clientFrom(o);
  let op = await client.cancel(o.operation as string);
  if (o.wait) op = await client.waitFor(op.id, { signal: io.signal });
  if (o.json) io.json(op);
  else io.out(formatOperation(op));
  return 0;
}
