/** import: `pagevault import` — a new database from JSON lines (a `pagevault export`), from a file or stdin. */
import { createReadStream } from 'node:fs';
import { importJson } from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { formatCount } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'import',
  summary: 'Import JSON lines (from `pagevault export`) into a new database, rebuilding its indexes.',
  usage: 'pagevault import --db PATH [--in FILE|-] [--skip-indexes] [--json]',
  description: [
    'Builds the database under a temporary name beside PATH and renames it into place when complete; a bad or',
    'truncated input leaves nothing behind and names the record number. PATH must not exist or be empty.',
  ].join('\n'),
  options: {
    db: { kind: 'string', value: 'PATH', help: 'directory of the new database', required: true },
    in: { kind: 'string', value: 'FILE|-', help: 'input file, or - for stdin', default: '-' },
    'skip-indexes': { kind: 'boolean', help: 'store index definitions, build their data later (rebuildIndex)' },
    json: { kind: 'boolean', help: 'print the result as JSON' },
    quiet: { kind: 'boolean', help: 'no progress lines' },
  },
  examples: ['pagevault import --db ./copy --in data.ndjson', 'gunzip -c data.ndjson.gz | pagevault import --db ./copy'],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const input = o.in === '-' ? process.stdin : createReadStream(o.in as string, { highWaterMark: 1 << 20 });
  let last = 0;
  const r = await importJson({
    to: o.db as string,
    input,
    skipIndexes: o['skip-indexes'] === true,
    signal: io.signal,
    onProgress: o.quiet
      ? undefined
      : (p) => {
          const t = performance.now();
          if (t - last < 2000) return;
          last = t;
          io.err(p.phase === 'records' ? `import: ${formatCount(p.records)} records` : `import: rebuilding indexes: ${formatCount(p.indexedDocs)}/${formatCount(p.docsTotal)} documents`);
        },
  });
  if (o.json) io.json(r);
  else io.out(`imported into ${r.to}: ${formatCount(r.docs)} documents, ${formatCount(r.tombstones)} tombstones, ${formatCount(r.entries)} entries in ${r.recordSeconds.toFixed(2)}s; ${r.indexes} index(es), ${formatCount(r.indexEntries)} entries rebuilt in ${r.indexSeconds.toFixed(2)}s`);
  return 0;
}
