/**
 * records: the JSON backup format (version 1), its record types, and the line reader.
 *
 * A JSON backup (and a `pagevault export` stream) is UTF-8 JSON lines: one JSON object per
 * line, each ending in `\n`. The first is the header, the last is the end record; the end
 * record's count makes a truncated stream detectable even without the backup file framing
 * (an export piped through `gzip` or `ssh`). Values use the tags of value-json.ts.
 *
 *   {"t":"header","format":"pagevault-json","version":1,"kind":"docdb"|"env",
 *    "incremental":false,"database":{"name":…,"id":…|null},"txnId":T,"lastEtag":E|null,
 *    "baseEtag":B|null,"created":ISO}
 * Document databases (kind "docdb"):
 *   {"t":"index","v":{IndexDefinition}}               every current index definition
 *   {"t":"identity","collection":"Users","value":42}  every identity counter
 *   {"t":"doc","id":"users/1","v":{"etag":…,"collection":…,"modified":…,"body":{…}}}
 *   {"t":"tombstone","etag":E,"v":{"id":…,"collection":…,"deletedEtag":…,"deleted":…}}
 * Generic lmdb-js environments (kind "env"):
 *   {"t":"db","name":"users"|null,"flags":F,"options":{"encoding":…,"keyEncoding":…,"dupSort":…,"useVersions":…}}
 *   {"t":"entry","db":"users"|null,"k":KEY,"v":VALUE[,"ver":N]}   after its db record, in key order
 * Always last:
 *   {"t":"end","records":N}                           N = records between header and end
 *
 * A full backup of a document database holds indexes, identities and all documents; an
 * incremental one holds all indexes and identities (they are small and replace the old
 * ones), the documents written after `baseEtag` and the tombstones of deletes after it.
 */
import { InvalidBackupRecordError, UnsupportedBackupError } from '../errors.js';
import type { IndexDefinition, StoredDocument, Tombstone } from '../docdb/layout.js';

export const JSON_FORMAT = 'pagevault-json';
export const JSON_FORMAT_VERSION = 1;

/** HeaderRecord: the first line. */
export interface HeaderRecord {
  t: 'header';
  format: typeof JSON_FORMAT;
  version: number;
  kind: 'docdb' | 'env';
  incremental: boolean;
  database: { name: string; id: string | null };
  /** Transaction id of the snapshot exported. */
  txnId: number;
  /** docdb: the highest etag in the snapshot; env: null. */
  lastEtag: number | null;
  /** Incremental: documents and tombstones with an etag above this are included. */
  baseEtag: number | null;
  created: string;
}

export interface IndexRecord {
  t: 'index';
  v: IndexDefinition;
}
export interface IdentityRecord {
  t: 'identity';
  collection: string;
  value: number;
}
export interface DocRecord {
  t: 'doc';
  id: string;
  v: StoredDocument;
}
export interface TombstoneRecord {
  t: 'tombstone';
  etag: number;
  v: Tombstone;
}
/** DbOptionsRecord: what a generic named database was opened with (and its on-disk flags). */
export interface DbRecord {
  t: 'db';
  name: string | null;
  flags: number;
  options: ExportDbOptions;
}
export interface EntryRecord {
  t: 'entry';
  db: string | null;
  k: unknown;
  v: unknown;
  ver?: number;
}
export interface EndRecord {
  t: 'end';
  records: number;
}

/** ExportDbOptions: how one database's keys and values are encoded (lmdb-js options; defaults in brackets). */
export interface ExportDbOptions {
  /** ['msgpack'] | 'json' | 'string' | 'binary' | 'ordered-binary' | 'cbor'. */
  encoding?: 'msgpack' | 'json' | 'string' | 'binary' | 'ordered-binary' | 'cbor';
  /** ['ordered-binary'] | 'uint32' | 'binary'. */
  keyEncoding?: 'ordered-binary' | 'uint32' | 'binary';
  /** lmdb-js `compression` was on (default dictionary): values are decompressed for the export, and the restored store compresses again. */
  compression?: boolean;
  /**
   * lmdb-js `sharedStructuresKey: Symbol.for('structures')` was set: msgpack values are decoded with the structures
   * entry of the same snapshot (which is exported too, and restored, so the application reads on where it was).
   */
  sharedStructures?: boolean;
  /** lmdb-js `useVersions`. */
  useVersions?: boolean;
  dupSort?: boolean;
}

export type BodyRecord = IndexRecord | IdentityRecord | DocRecord | TombstoneRecord | DbRecord | EntryRecord;
export type JsonRecord = HeaderRecord | BodyRecord | EndRecord;

/** line: one record as a line of JSON text (for the records the exporter builds in JS). */
export function line(record: Record<string, unknown>): string {
  return `${JSON.stringify(record)}\n`;
}

/** checkHeader: the parsed first line must be a header of a version this pagevault reads. */
export function checkHeader(value: unknown): HeaderRecord {
  const h = value as Partial<HeaderRecord> | null;
  if (typeof h !== 'object' || h === null || h.t !== 'header') throw new InvalidBackupRecordError('the stream does not start with a header record', 1);
  if (h.format !== JSON_FORMAT) throw new InvalidBackupRecordError(`not a pagevault JSON backup (format ${JSON.stringify(h.format)})`, 1);
  if (h.version !== JSON_FORMAT_VERSION) throw new UnsupportedBackupError(`JSON backup format version ${String(h.version)} is not supported (this pagevault reads ${JSON_FORMAT_VERSION})`);
  if (h.kind !== 'docdb' && h.kind !== 'env') throw new InvalidBackupRecordError(`unknown backup kind ${JSON.stringify(h.kind)}`, 1);
  if (typeof h.txnId !== 'number' || typeof h.incremental !== 'boolean') throw new InvalidBackupRecordError('header lacks txnId or incremental', 1);
  return h as HeaderRecord;
}

const BODY_TYPES: Record<HeaderRecord['kind'], ReadonlySet<string>> = {
  docdb: new Set(['index', 'identity', 'doc', 'tombstone']),
  env: new Set(['db', 'entry']),
};

/** ParsedLine: one record of the stream, with its 1-based line number. */
export interface ParsedLine {
  n: number;
  record: JsonRecord;
}

/**
 * RecordChecker: the order rules of a stream, record by record: a header first, record
 * types allowed for its kind, an end record last whose count matches, nothing after it.
 * `line(text)` parses and checks one line; `nativeDoc()` counts a document line that was
 * decoded elsewhere (the native encoder) and returns its number; `finish()` checks the
 * stream ended properly. Errors are InvalidBackupRecordError with the line number.
 */
export class RecordChecker {
  n = 0;
  header: HeaderRecord | undefined;
  #ended = false;

  line(text: string): ParsedLine {
    const n = ++this.n;
    if (this.#ended) throw new InvalidBackupRecordError('data after the end record', n);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new InvalidBackupRecordError(`not valid JSON (${(err as Error).message})`, n);
    }
    if (!this.header) {
      this.header = checkHeader(value);
      return { n, record: this.header };
    }
    const t = (value as { t?: unknown } | null)?.t;
    if (t === 'end') {
      const count = (value as EndRecord).records;
      if (count !== n - 2) throw new InvalidBackupRecordError(`the end record counts ${String(count)} records but ${n - 2} were read`, n);
      this.#ended = true;
      return { n, record: value as EndRecord };
    }
    if (typeof t !== 'string' || !BODY_TYPES[this.header.kind].has(t)) {
      throw new InvalidBackupRecordError(`unknown record type ${JSON.stringify(t)} in a ${this.header.kind} backup`, n);
    }
    return { n, record: value as BodyRecord };
  }

  nativeDoc(): number {
    const n = ++this.n;
    if (this.#ended) throw new InvalidBackupRecordError('data after the end record', n);
    if (!this.header) throw new InvalidBackupRecordError('the stream does not start with a header record', n);
    if (!BODY_TYPES[this.header.kind].has('doc')) throw new InvalidBackupRecordError(`unknown record type "doc" in a ${this.header.kind} backup`, n);
    return n;
  }

  finish(): void {
    if (!this.header) throw new InvalidBackupRecordError('the stream is empty: no header record', 1);
    if (!this.#ended) throw new InvalidBackupRecordError(`the stream ends after record ${this.n} without an end record (truncated)`, this.n + 1);
  }
}

/**
 * lineBlocks: the stream cut into blocks of whole lines (each ends with '\n' except
 * possibly the last block of the stream), at least `minBytes` each except the last.
 */
export async function* lineBlocks(chunks: AsyncIterable<Buffer | string>, minBytes = 1 << 20): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    parts.push(buf);
    size += buf.length;
    if (size < minBytes) continue;
    const nl = buf.lastIndexOf(10);
    if (nl < 0) continue;
    const joined = parts.length === 1 ? buf : Buffer.concat(parts, size);
    const cut = size - (buf.length - nl - 1);
    yield joined.subarray(0, cut);
    const rest = joined.subarray(cut);
    parts = rest.length > 0 ? [rest] : [];
    size = rest.length;
  }
  if (size > 0) yield parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
}

/**
 * readRecords: the records of a JSON backup stream, parsed and checked in order (see
 * RecordChecker). Values are returned as parsed (tags not yet decoded: see fromJsonValue).
 * A stream that stops before its end record is an error ("truncated").
 */
export async function* readRecords(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<ParsedLine> {
  const checker = new RecordChecker();
  for await (const block of lineBlocks(chunks, 1)) {
    let start = 0;
    while (start < block.length) {
      let nl = block.indexOf(10, start);
      if (nl < 0) nl = block.length;
      if (nl > start) yield checker.line(block.toString('utf8', start, nl));
      start = nl + 1;
    }
  }
  checker.finish();
}
