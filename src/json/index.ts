/**
 * json: JSON backups and the JSON export/import format (records.ts), with the value
 * encoding of value-json.ts: the export of a pinned snapshot (export.ts), writing records
 * into a new environment (apply.ts), and the standalone export/import (standalone.ts).
 */
export { exportJson, importJson, type ExportJsonOptions, type ImportJsonOptions } from './standalone.js';
export { createJsonExport, isDocumentDatabase, openExportStores, type JsonExport, type JsonExportOptions, type JsonExportStats } from './export.js';
export { JsonApplier, type ApplyOptions, type ApplyProgress, type ApplyResult } from './apply.js';
export { JSON_FORMAT, JSON_FORMAT_VERSION, readRecords, type ExportDbOptions, type HeaderRecord, type JsonRecord, type ParsedLine } from './records.js';
export { fromJsonValue, isJsonWritable, OpaqueValue, toJsonText } from './value-json.js';
