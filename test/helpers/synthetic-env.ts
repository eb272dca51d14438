/**
 * synthetic-env: hand-built LMDB data files for format tests where no LMDB library can serve as the oracle (data
 * version 1, exotic layouts) and for deterministic corruption. Layouts follow LMDB-INTERNALS.md §4.1.
 *
 * The file has meta pages 0 and 1 and one leaf page (page 2) holding the main database: one named-database record
 * per name (all empty databases), in byte order of the names. Meta 0 has txn `txnid - 1`, meta 1 has `txnid`.
 */

/** SyntheticEnvOptions: what buildSyntheticDataFile writes. */
export interface SyntheticEnvOptions {
  dataVersion: 1 | 2;
  names: string[];
  pageSize?: number;
  txnid?: number;
  mapSize?: number;
  envFlags?: number;
}

const P_LEAF = 0x02;
const P_META = 0x08;
const F_SUBDATA = 0x02;
const MAGIC = 0xbeefc0de;
const INVALID_PAGE = 0xffffffffffffffffn;

/** SyntheticLayout: offsets a test needs to corrupt a synthetic file on purpose. */
export interface SyntheticLayout {
  headerSize: number;
  pageBase: number;
  pageSize: number;
  /** Byte offset of each meta record (after the page header) in the file. */
  metaOffsets: [number, number];
}

/** syntheticLayout: the constants buildSyntheticDataFile uses for `options`. */
export function syntheticLayout(options: Pick<SyntheticEnvOptions, 'dataVersion' | 'pageSize'>): SyntheticLayout {
  const pageSize = options.pageSize ?? 4096;
  const headerSize = options.dataVersion === 2 ? 24 : 16;
  return {
    headerSize,
    pageBase: options.dataVersion === 2 ? 24 : 0,
    pageSize,
    metaOffsets: [headerSize, pageSize + headerSize],
  };
}

interface PageHeader {
  pgno: number;
  txnid: number;
  flags: number;
  lower: number;
  upper: number;
}

function writeHeader(file: Buffer, layout: SyntheticLayout, { pgno, txnid, flags, lower, upper }: PageHeader): void {
  const at = pgno * layout.pageSize;
  file.writeBigUInt64LE(BigInt(pgno), at);
  if (layout.headerSize === 24) {
    file.writeBigUInt64LE(BigInt(txnid), at + 8);
    file.writeUInt16LE(0, at + 16);
  } else {
    file.writeUInt16LE(0, at + 8);
  }
  const flagsAt = at + layout.headerSize - 6;
  file.writeUInt16LE(flags, flagsAt);
  file.writeUInt16LE(lower, flagsAt + 2);
  file.writeUInt16LE(upper, flagsAt + 4);
}

interface Record48 {
  pad: number;
  flags: number;
  depth: number;
  branch: number;
  leaf: number;
  overflow: number;
  entries: number;
  root: bigint;
}

const EMPTY_RECORD: Record48 = {
  pad: 0,
  flags: 0,
  depth: 0,
  branch: 0,
  leaf: 0,
  overflow: 0,
  entries: 0,
  root: INVALID_PAGE,
};

function writeRecord(file: Buffer, at: number, record: Record48): void {
  file.writeUInt32LE(record.pad, at);
  file.writeUInt16LE(record.flags, at + 4);
  file.writeUInt16LE(record.depth, at + 6);
  file.writeBigUInt64LE(BigInt(record.branch), at + 8);
  file.writeBigUInt64LE(BigInt(record.leaf), at + 16);
  file.writeBigUInt64LE(BigInt(record.overflow), at + 24);
  file.writeBigUInt64LE(BigInt(record.entries), at + 32);
  file.writeBigUInt64LE(record.root, at + 40);
}

/** buildSyntheticDataFile: a complete 3-page data file as described at the top of this module. */
export function buildSyntheticDataFile(options: SyntheticEnvOptions): Buffer {
  const layout = syntheticLayout(options);
  const { pageSize, headerSize, pageBase } = layout;
  const txnid = options.txnid ?? 7;
  const file = Buffer.alloc(pageSize * 3);
  const names = options.names.map((name) => Buffer.from(`${name}\0`, 'utf8')).sort(Buffer.compare);

  // Page 2: the main database's only leaf; nodes are packed downwards from the end of the page.
  const leafAt = 2 * pageSize;
  let nodeAt = pageSize;
  const slots: number[] = [];
  for (const key of names) {
    const size = 8 + key.length + 48;
    nodeAt -= size + (size % 2);
    if (nodeAt < headerSize + 2 * names.length) throw new Error('synthetic env: names do not fit in one page');
    const at = leafAt + nodeAt;
    file.writeUInt16LE(48, at); // data size, low 16 bits
    file.writeUInt16LE(0, at + 2);
    file.writeUInt16LE(F_SUBDATA, at + 4);
    file.writeUInt16LE(key.length, at + 6);
    key.copy(file, at + 8);
    writeRecord(file, at + 8 + key.length, { ...EMPTY_RECORD });
    slots.push(nodeAt - pageBase);
  }
  slots.forEach((slot, i) => file.writeUInt16LE(slot, leafAt + headerSize + 2 * i));
  const lower = headerSize - pageBase + 2 * names.length;
  const upper = (names.length > 0 ? nodeAt : pageSize) - pageBase;
  writeHeader(file, layout, { pgno: 2, txnid, flags: P_LEAF, lower, upper });

  for (const slot of [0, 1] as const) {
    writeHeader(file, layout, { pgno: slot, txnid: 0, flags: P_META, lower: 0, upper: 0 });
    const at = layout.metaOffsets[slot];
    file.writeUInt32LE(MAGIC, at);
    file.writeUInt32LE(options.dataVersion, at + 4);
    file.writeBigUInt64LE(0n, at + 8);
    file.writeBigUInt64LE(BigInt(options.mapSize ?? pageSize * 256), at + 16);
    writeRecord(file, at + 24, { ...EMPTY_RECORD, pad: pageSize, flags: options.envFlags ?? 0x08 });
    writeRecord(file, at + 72, {
      pad: 0,
      flags: 0,
      depth: names.length > 0 ? 1 : 0,
      branch: 0,
      leaf: names.length > 0 ? 1 : 0,
      overflow: 0,
      entries: names.length,
      root: names.length > 0 ? 2n : INVALID_PAGE,
    });
    file.writeBigUInt64LE(2n, at + 120);
    file.writeBigUInt64LE(BigInt(slot === 1 ? txnid : txnid - 1), at + 128);
    if (options.dataVersion === 2) file.writeBigUInt64LE(0n, at + 136);
  }
  return file;
}
