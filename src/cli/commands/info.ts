/** info: `pagevault info` — what an LMDB environment holds, read from its data file. */
import { envInfo, openDatabase, DbNames } from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { formatBytes, formatCount } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'info',
  summary: 'Show an LMDB environment: format, page size, last transaction, named databases; and document statistics for a pagevault document database.',
  usage: 'pagevault info --db PATH [--json]',
  description: 'Reads data.mdb directly (no lock file is touched); safe while an application has the database open and writes to it.',
  options: {
    db: { kind: 'string', value: 'PATH', help: 'environment directory (or data file of a noSubdir environment)', required: true },
    json: { kind: 'boolean', help: 'print JSON' },
  },
  examples: ['pagevault info --db ./pagevault-demo/db', 'pagevault info --db ./data --json'],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const path = o.db as string;
  const info = await envInfo(path);
  const names = info.namedDatabases?.map((d) => d.name) ?? [];
  const isDocumentDb = names.includes(DbNames.docs) && names.includes(DbNames.meta);
  let documents;
  if (isDocumentDb) {
    const db = openDatabase(path, { readOnly: true });
    try {
      documents = db.stats();
    } finally {
      await db.close();
    }
  }
  if (o.json) {
    io.json({ env: info, documents: documents ?? null });
    return 0;
  }
  io.out(`environment  ${info.dataPath}`);
  io.out(`format       ${info.format.description} (page header ${info.format.pageHeaderSize} B)${info.encrypted ? ', encrypted pages' : ''}`);
  io.out(`page size    ${formatBytes(info.pageSize)}; map size ${formatBytes(info.mapSize)}; data file ${formatBytes(info.fileSize)}`);
  io.out(`last page    ${formatCount(info.lastPage)} (${formatBytes((info.lastPage + 1) * info.pageSize)} in use); last txn ${info.lastTxnId}`);
  io.out(`main db      ${formatCount(info.mainDb.entries)} entries, depth ${info.mainDb.depth}`);
  if (info.namedDatabases) {
    io.out(`named dbs    ${info.namedDatabases.length}`);
    for (const d of info.namedDatabases) {
      const pages = d.branchPages + d.leafPages + d.overflowPages;
      io.out(`  ${d.name.padEnd(28)} ${formatCount(d.entries).padStart(12)} entries ${formatCount(pages).padStart(10)} pages  depth ${d.depth}${d.flags & 0x04 ? '  dupSort' : ''}`);
    }
  } else io.out('named dbs    (not readable: pages are encrypted)');
  if (documents) {
    io.out(`documents    ${formatCount(documents.documents)} live, ${formatCount(documents.tombstones)} tombstones, last etag ${documents.lastEtag}, database id ${documents.databaseId}`);
    io.out(`identities   ${Object.entries(documents.identities).map(([c, n]) => `${c} ${formatCount(n)}`).join(', ') || '(none)'}`);
    for (const ix of documents.indexes) io.out(`  index ${ix.name.padEnd(22)} ${ix.collection}(${ix.fields.join(', ')})${ix.unique ? ' unique' : ''}: ${formatCount(ix.entries)} entries`);
  }
  return 0;
}
