/** generate: `pagevault generate` — thin wrapper over generateDataset. */
import { generateDataset, profileNames, PROFILES } from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { formatBytes, formatCount, ProgressBar } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'generate',
  summary: 'Create a realistic, deterministic document database (same seed, same document content).',
  usage: 'pagevault generate --db PATH --docs N [--seed S] [--profile NAME] [--threads N] [--json]',
  description: [
    'Profiles:',
    ...profileNames().map((n) => `  ${n.padEnd(8)} ${PROFILES[n].description}`),
    '',
    'PATH must not exist yet, be an empty directory, or be a document database without documents.',
  ].join('\n'),
  options: {
    db: { kind: 'string', value: 'PATH', help: 'directory of the database to create', required: true },
    docs: { kind: 'int', value: 'N', help: 'number of documents (accepts 200k, 2m)', required: true, min: 0, max: 1e10 },
    seed: { kind: 'string', value: 'S', help: 'seed: same seed, profile and count give the same documents', default: '1' },
    profile: { kind: 'string', value: 'NAME', help: 'dataset shape', default: 'default', choices: profileNames() },
    threads: { kind: 'int', value: 'N', help: 'generator worker threads (0: on the main thread); default cores - 1', min: 0, max: 64 },
    'batch-size': { kind: 'int', value: 'N', help: 'documents per write transaction', default: 2048, min: 1, max: 1e6 },
    json: { kind: 'boolean', help: 'print the result as JSON' },
    quiet: { kind: 'boolean', help: 'no progress bar' },
  },
  examples: ['pagevault generate --db ./data --docs 200k', 'pagevault generate --db ./big --docs 5m --seed 7 --profile large --json'],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const total = o.docs as number;
  const bar = new ProgressBar('generate', total, { unit: ' docs', enabled: !o.quiet, stream: io.stderr });
  const result = await generateDataset({
    path: o.db as string,
    docs: total,
    seed: o.seed as string,
    profile: o.profile as string,
    threads: o.threads as number | undefined,
    batchSize: o['batch-size'] as number,
    onProgress: (p) => bar.update(p.docs, formatBytes(p.valueBytes)),
    signal: io.signal,
  });
  bar.done();
  if (o.json) io.json(result);
  else {
    io.out(`generated ${formatCount(result.docs)} documents (${formatBytes(result.valueBytes)} of values, ${formatCount(result.indexEntries)} index entries) in ${result.seconds.toFixed(2)}s: ${formatCount(result.docsPerSecond)} docs/s`);
    io.out(`database: ${result.path} (data.mdb ${formatBytes(result.fileBytes)}), seed ${result.seed}, profile ${result.profile}`);
    io.out(`collections: ${Object.entries(result.counts).map(([c, n]) => `${c} ${formatCount(n)}`).join(', ')}`);
  }
  return 0;
}
