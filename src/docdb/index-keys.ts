/**
 * index-keys: pure functions that turn a document body into the keys an index stores.
 * Used both by live writes and by the dataset generator's workers, so a generated
 * database has exactly the index data a rebuild would produce.
 */
import { InvalidArgumentError } from '../errors.js';
import type { IndexDefinition } from './layout.js';

/** IndexKey: one entry's key; a scalar for a single-field index, an array for compound ones. */
export type IndexScalar = string | number | boolean | null;
export type IndexKey = IndexScalar | IndexScalar[];

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** validateIndexDefinition: throws InvalidArgumentError unless `def` is well formed; returns a normalized copy. */
export function validateIndexDefinition(def: IndexDefinition): IndexDefinition {
  if (typeof def !== 'object' || def === null) throw new InvalidArgumentError('Expected an object for index definition');
  if (typeof def.name !== 'string' || !NAME_RE.test(def.name)) {
    throw new InvalidArgumentError(`Expected 1-64 characters [A-Za-z0-9_.-] for index name but received ${JSON.stringify(def.name)}`);
  }
  if (typeof def.collection !== 'string' || def.collection.length === 0) {
    throw new InvalidArgumentError(`Expected a collection name for index ${def.name}`);
  }
  if (!Array.isArray(def.fields) || def.fields.length === 0 || def.fields.some((f) => typeof f !== 'string' || f.length === 0)) {
    throw new InvalidArgumentError(`Expected a non-empty array of field paths for index ${def.name}`);
  }
  return { name: def.name, collection: def.collection, fields: [...def.fields], unique: def.unique === true };
}

// Split field paths once: readPath runs for every index of every written document.
const pathParts = new Map<string, string[]>();

function readPath(body: unknown, path: string): unknown {
  let parts = pathParts.get(path);
  if (!parts) {
    parts = path.split('.');
    if (pathParts.size < 10_000) pathParts.set(path, parts);
  }
  let cur: unknown = body;
  for (const part of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function toScalar(v: unknown): IndexScalar | undefined {
  if (v === null) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : undefined;
    case 'object':
      // Dates index as their ISO text so that range queries on ISO strings and Dates agree.
      return v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString() : undefined;
    default:
      return undefined;
  }
}

/** scalarsOf: the indexable values at one path; arrays index each element (multi-entry). */
function scalarsOf(body: unknown, path: string): IndexScalar[] {
  const v = readPath(body, path);
  if (Array.isArray(v)) {
    const out: IndexScalar[] = [];
    for (const el of v) {
      const s = toScalar(el);
      if (s !== undefined) out.push(s);
    }
    return out;
  }
  const s = toScalar(v);
  return s === undefined ? [] : [s];
}

/**
 * indexKeysFor: every key `def` stores for `body`, without duplicates, in a stable order.
 * A document missing any field of the index is not indexed. A compound index over array
 * fields stores the cross product, capped at 64 keys per document to bound write cost.
 */
export function indexKeysFor(def: IndexDefinition, body: unknown): IndexKey[] {
  if (def.fields.length === 1) {
    const vals = scalarsOf(body, def.fields[0]);
    return vals.length <= 1 ? vals : [...new Set(vals)];
  }
  let combos: IndexScalar[][] = [[]];
  for (const field of def.fields) {
    const vals = scalarsOf(body, field);
    if (vals.length === 0) return [];
    const next: IndexScalar[][] = [];
    for (const c of combos) for (const v of vals) if (next.length < 64) next.push([...c, v]);
    combos = next;
  }
  return combos.length <= 1 ? combos : dedupe(combos);
}

function dedupe<T>(keys: T[]): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const k of keys) {
    const s = JSON.stringify(k);
    if (!seen.has(s)) {
      seen.add(s);
      out.push(k);
    }
  }
  return out;
}
