/**
 * demo: what `npm start` runs. Creates (once) a demo document database under
 * ./pagevault-demo/, then shows what pagevault reads from it. Backup, incremental backup,
 * restore and verify join this walk-through as they are built (issues 3 and 4).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { envInfo, generateDataset, openDatabase } from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { formatBytes, formatCount, ProgressBar } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'demo',
  summary: 'The main job on an embedded default database (what `npm start` runs).',
  usage: 'pagevault demo [--dir DIR] [--docs N]',
  description: 'Creates the demo database once (DIR/db), prints its statistics and proves its indexes answer queries.\nRun it again to reuse the database; delete DIR to start over.',
  options: {
    dir: { kind: 'string', value: 'DIR', help: 'demo directory', default: './pagevault-demo' },
    docs: { kind: 'int', value: 'N', help: 'documents in a newly created demo database', default: 100_000, min: 1, max: 1e9 },
  },
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const dir = resolve(o.dir as string);
  const path = join(dir, 'db');
  if (!existsSync(join(path, 'data.mdb'))) {
    io.out(`creating the demo database ${path} (${formatCount(o.docs as number)} documents, seed "demo")`);
    const bar = new ProgressBar('generate', o.docs as number, { unit: ' docs', stream: io.stderr });
    const r = await generateDataset({ path, docs: o.docs as number, seed: 'demo', onProgress: (p) => bar.update(p.docs), signal: io.signal });
    bar.done();
    io.out(`generated ${formatCount(r.docs)} documents in ${r.seconds.toFixed(2)}s (${formatCount(r.docsPerSecond)} docs/s), data.mdb ${formatBytes(r.fileBytes)}`);
  } else {
    io.out(`using the existing demo database ${path}`);
  }

  const info = await envInfo(path);
  io.out('');
  io.out('1. The environment, read from data.mdb by the native page reader (off the JS thread):');
  io.out(`   ${info.format.description}, page size ${formatBytes(info.pageSize)}, last txn ${info.lastTxnId}, ${formatCount(info.lastPage + 1)} pages in use, ${info.namedDatabaseCount} named databases`);

  const db = openDatabase(path, { readOnly: true });
  try {
    const s = db.stats();
    io.out('');
    io.out('2. The document database:');
    io.out(`   ${formatCount(s.documents)} documents, ${formatCount(s.tombstones)} tombstones, last etag ${s.lastEtag}`);
    io.out(`   collections by identity: ${Object.entries(s.identities).map(([c, n]) => `${c} ${formatCount(n)}`).join(', ')}`);
    io.out(`   indexes: ${s.indexes.map((i) => `${i.name} (${formatCount(i.entries)})`).join(', ')}`);
    const oslo = db.query('Users.byLocation', { equals: ['NO', 'Oslo'] }, { limit: 100_000 });
    const recent = db.query('Orders.byDate', { gte: '2025-12-01' }, { limit: 100_000 });
    const first = db.get('users/1-A');
    io.out('');
    io.out('3. Queries through the indexes:');
    io.out(`   users in Oslo, NO: ${formatCount(oslo.length)}; orders since 2025-12-01: ${formatCount(recent.length)}`);
    if (first) io.out(`   users/1-A: ${JSON.stringify(first.body).slice(0, 160)}…`);
  } finally {
    await db.close();
  }
  io.out('');
  io.out('Not built yet: snapshot and JSON backups, incrementals, restore and verify (issues 3 and 4).');
  io.out('Try: pagevault info --db ' + path + '   |   pagevault load --db ' + path + ' --duration 5');
  return 0;
}
