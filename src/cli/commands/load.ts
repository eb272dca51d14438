/** load: `pagevault load` — thin wrapper over runLoad. */
import { runLoad, profileNames } from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { formatCount } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'load',
  summary: 'Write to a document database (inserts, updates, deletes in small transactions) at a target rate.',
  usage: 'pagevault load --db PATH [--writes-per-sec R] [--duration S] [--json]',
  description: 'Runs until the duration passes or it is interrupted (Ctrl-C), then reports exactly what it committed.\nRun it beside a backup to back up a database that is being written.',
  options: {
    db: { kind: 'string', value: 'PATH', help: 'directory of an existing document database', required: true },
    'writes-per-sec': { kind: 'number', value: 'R', help: 'target document writes per second; 0 = as fast as possible', default: 1000, min: 0 },
    duration: { kind: 'number', value: 'S', help: 'seconds to run', default: 10, min: 0.001 },
    'writes-per-txn': { kind: 'int', value: 'N', help: 'writes per transaction', default: 10, min: 1, max: 100000 },
    insert: { kind: 'number', value: 'W', help: 'weight of inserts in the mix', default: 3, min: 0 },
    update: { kind: 'number', value: 'W', help: 'weight of updates in the mix', default: 6, min: 0 },
    delete: { kind: 'number', value: 'W', help: 'weight of deletes in the mix', default: 1, min: 0 },
    seed: { kind: 'string', value: 'S', help: 'seed for the choice of operations', default: 'load' },
    profile: { kind: 'string', value: 'NAME', help: 'shape of new documents', default: 'default', choices: profileNames() },
    json: { kind: 'boolean', help: 'print the result as JSON' },
    quiet: { kind: 'boolean', help: 'no progress lines' },
  },
  examples: ['pagevault load --db ./data --writes-per-sec 5000 --duration 60', 'pagevault load --db ./data --writes-per-sec 0 --duration 5 --json'],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const result = await runLoad({
    path: o.db as string,
    writesPerSec: o['writes-per-sec'] as number,
    durationSec: o.duration as number,
    writesPerTxn: o['writes-per-txn'] as number,
    mix: { insert: o.insert as number, update: o.update as number, delete: o.delete as number },
    seed: o.seed as string,
    profile: o.profile as string,
    signal: io.signal,
    onProgress: o.quiet ? undefined : (p) => io.err(`load: ${formatCount(p.writes)} writes in ${formatCount(p.transactions)} transactions, ${(p.elapsedMs / 1000).toFixed(0)}s`),
  });
  if (o.json) io.json(result);
  else {
    io.out(`committed ${formatCount(result.writes)} writes in ${formatCount(result.transactions)} transactions over ${result.seconds.toFixed(1)}s (${formatCount(result.writesPerSec)} writes/s)${result.aborted ? ', stopped early' : ''}`);
    io.out(`inserts ${formatCount(result.inserts)}, updates ${formatCount(result.updates)}, deletes ${formatCount(result.deletes)}, misses ${formatCount(result.misses)}; etags ${result.firstEtag + 1}..${result.lastEtag}`);
  }
  return 0;
}
