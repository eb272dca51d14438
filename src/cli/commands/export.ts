/** export: `pagevault export` — a JSON export of one consistent snapshot, to a file or stdout. */
import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { exportJson } from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { formatBytes, formatCount } from '../output.js';
import type { Io } from '../io.js';
import { DB_OPTIONS_OPTION, dbOptionsFrom } from '../db-options.js';

export const spec: CommandSpec = {
  name: 'export',
  summary: 'Export a database as JSON lines (documents, index definitions, identities), online and consistent.',
  usage: 'pagevault export --db PATH [--out FILE|-] [--collections A,B] [--json]',
  description: [
    'The same JSON lines a JSON backup holds, uncompressed and unencrypted, for moving data between databases',
    '(`pagevault import`) or into other tools. One header line, typed records, one end line with the record count.',
    'Generic lmdb-js environments export every named database with its flags; values are decoded with lmdb-js\'s',
    'defaults (msgpack), and values JSON cannot express are carried as their stored bytes (tagged "$pv").',
    'The summary goes to stderr when the export goes to stdout.',
  ].join('\n'),
  options: {
    db: { kind: 'string', value: 'PATH', help: 'environment directory', required: true },
    out: { kind: 'string', value: 'FILE|-', help: 'output file, or - for stdout', default: '-' },
    collections: { kind: 'string', value: 'A,B', help: 'document databases: only these collections (comma-separated)' },
    ...DB_OPTIONS_OPTION,
    json: { kind: 'boolean', help: 'print the summary as JSON' },
  },
  examples: ['pagevault export --db ./data --out data.ndjson', 'pagevault export --db ./data | gzip > data.ndjson.gz'],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const toStdout = o.out === '-';
  const out = toStdout ? process.stdout : createWriteStream(o.out as string, { flags: 'wx' });
  const stats = await exportJson({
    db: o.db as string,
    // stdout must stay open after the export (pipeline would end it, and the summary may follow on stderr).
    out: toStdout ? passThroughTo(process.stdout) : out,
    collections: typeof o.collections === 'string' ? o.collections.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    dbOptions: dbOptionsFrom(o['db-options']),
    signal: io.signal,
  });
  const say = toStdout ? io.err : io.out;
  if (o.json) (toStdout ? (v: unknown) => io.err(JSON.stringify(v)) : io.json)(stats);
  else say(`exported ${stats.kind === 'docdb' ? `etag ${stats.lastEtag ?? 0}` : `txn ${stats.txnId}`}: ${formatCount(stats.records)} records (${formatCount(stats.docs)} documents, ${formatCount(stats.entries)} entries), ${formatBytes(stats.bytes)} in ${stats.seconds.toFixed(2)}s`);
  return 0;
}

/** passThroughTo: a Writable that forwards to `target` with backpressure and does not end it. */
function passThroughTo(target: NodeJS.WriteStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (target.write(chunk)) cb();
      else target.once('drain', () => cb());
    },
  });
}
