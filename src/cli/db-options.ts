/**
 * db-options: `--db-options JSON|@FILE`, the lmdb-js options of a generic environment's
 * named databases for JSON exports and backups (values are not self-describing: see the
 * README's "JSON backups"). The JSON maps a database name ('' for the root store) to
 * { encoding, keyEncoding, compression, sharedStructures, useVersions }.
 */
import { readFileSync } from 'node:fs';
import type { ExportDbOptions } from '../json/index.js';
import { UsageError, type OptionSpec } from './args.js';

export const DB_OPTIONS_OPTION: Record<string, OptionSpec> = {
  'db-options': { kind: 'string', value: 'JSON|@FILE', help: 'generic environments: lmdb-js options per named database, e.g. {"names":{"encoding":"string"}}' },
};

/** dbOptionsFrom: the parsed option, or undefined when absent. */
export function dbOptionsFrom(value: unknown): Record<string, ExportDbOptions> | undefined {
  if (typeof value !== 'string') return undefined;
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(`--db-options: cannot read ${value.slice(1)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('--db-options: not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('--db-options: expected a JSON object of database name → options');
  return parsed as Record<string, ExportDbOptions>;
}
