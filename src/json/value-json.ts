/**
 * value-json: how a decoded lmdb-js value is written as JSON in a JSON backup, and read back.
 *
 * Plain JSON carries null, booleans, finite numbers, strings, arrays and objects. Everything
 * else an lmdb-js (msgpackr) value can hold gets a *tag*: an object whose first key is `$pv`:
 *
 * | value                         | JSON                                          |
 * |-------------------------------|-----------------------------------------------|
 * | -0                            | `-0` (JSON.parse reads it back as -0)          |
 * | NaN, Infinity, -Infinity      | `{"$pv":"num","v":"NaN"}` (or the other name)  |
 * | bigint                        | `{"$pv":"bigint","v":"123"}`                   |
 * | Buffer / Uint8Array           | `{"$pv":"bin","v":"<base64>"}`                 |
 * | Date                          | `{"$pv":"date","v":<ms since epoch or null>}`  |
 * | undefined                     | `{"$pv":"undefined"}`                          |
 * | object whose first key is $pv | `{"$pv":"obj","v":{…the object…}}`             |
 * | raw stored value bytes        | `{"$pv":"mp","v":"<base64>"}` (msgpack) or `{"$pv":"raw","v":…}` (other encodings) |
 * | a key that is not a plain string | `{"$pv":"key","v":"<base64 of the key bytes>"}` |
 *
 * The last three are *opaque*: the exporter falls back to the stored bytes for any value it
 * cannot express exactly (Maps with non-string keys, typed arrays other than bytes, other
 * msgpack extensions, strings msgpackr itself decodes lossily). The importer writes those
 * bytes back unchanged, so every value round-trips exactly; it is only not portable.
 *
 * The native transcoder (native/msgpack_json.*) writes the same JSON straight from msgpack;
 * `toJsonText` is its TypeScript twin (used for the small databases, for environments the
 * native path cannot decode, and as the tests' oracle).
 */
import { InvalidBackupRecordError } from '../errors.js';

/** TAG: the key that marks a tagged value. */
export const TAG = '$pv';

/** OpaqueValue: stored bytes carried as they are (`$pv` "mp", "raw" or "key"). */
export class OpaqueValue {
  constructor(
    /** "mp": msgpack bytes of the store's encoder; "raw": bytes of another encoding; "key": raw key bytes. */
    readonly kind: 'mp' | 'raw' | 'key',
    readonly bytes: Buffer,
  ) {}
}

/** toJsonText: `value` as JSON text with the tags above. Throws InvalidArgumentError-free: unknown kinds become TypeError. */
export function toJsonText(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join('');
}

function write(value: unknown, out: string[]): void {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'number':
      if (Number.isFinite(value)) out.push(Object.is(value, -0) ? '-0' : String(value));
      else out.push(`{"$pv":"num","v":"${String(value)}"}`);
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'bigint':
      out.push(`{"$pv":"bigint","v":"${value.toString()}"}`);
      return;
    case 'undefined':
      out.push('{"$pv":"undefined"}');
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`a ${typeof value} cannot be written to a JSON backup`);
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      write(value[i], out);
    }
    out.push(']');
    return;
  }
  if (value instanceof Uint8Array) {
    out.push(`{"$pv":"bin","v":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"}`);
    return;
  }
  if (value instanceof Date) {
    const t = value.getTime();
    out.push(`{"$pv":"date","v":${Number.isNaN(t) ? 'null' : String(t)}}`);
    return;
  }
  if (value instanceof OpaqueValue) {
    out.push(`{"$pv":"${value.kind}","v":"${value.bytes.toString('base64')}"}`);
    return;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`a ${(value as object).constructor?.name ?? 'object'} cannot be written to a JSON backup as JSON`);
  }
  const keys = Object.keys(value);
  const wrap = keys.length > 0 && keys[0] === TAG;
  if (wrap) out.push('{"$pv":"obj","v":');
  out.push('{');
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out.push(',');
    out.push(JSON.stringify(keys[i]), ':');
    write((value as Record<string, unknown>)[keys[i]], out);
  }
  out.push('}');
  if (wrap) out.push('}');
}

/** isJsonWritable: true when toJsonText can express `value` exactly (no opaque fallback needed). */
export function isJsonWritable(value: unknown, depth = 0): boolean {
  if (depth > 512) return false;
  switch (typeof value) {
    case 'string':
      return isWellFormed(value);
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null || value instanceof Date) return true;
  if (Array.isArray(value)) return value.every((v) => isJsonWritable(v, depth + 1));
  // Only plain bytes: msgpackr decodes any bin as a Buffer/Uint8Array, so other typed arrays were never stored as such.
  if (value instanceof Uint8Array) return value.constructor === Buffer || value.constructor === Uint8Array;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k of Object.keys(value)) {
    if (!isWellFormed(k) || !isJsonWritable((value as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** isWellFormed: no lone surrogates (String.prototype.isWellFormed arrived in Node 20's V8 only behind a flag in some builds). */
function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/**
 * fromJsonValue: a value parsed from a JSON backup with its tags turned back into values.
 * Mutates and returns `parsed` (objects and arrays are reused). Opaque tags become
 * OpaqueValue, which the importer writes as bytes. A malformed tag throws
 * InvalidBackupRecordError (the caller adds the record number).
 */
export function fromJsonValue(parsed: unknown): unknown {
  if (typeof parsed !== 'object' || parsed === null) return parsed;
  if (Array.isArray(parsed)) {
    for (let i = 0; i < parsed.length; i++) {
      const v = parsed[i] as unknown;
      if (typeof v === 'object' && v !== null) parsed[i] = fromJsonValue(v);
    }
    return parsed;
  }
  const obj = parsed as Record<string, unknown>;
  if (TAG in obj) return fromTag(obj);
  for (const k in obj) {
    const v = obj[k];
    if (typeof v === 'object' && v !== null) obj[k] = fromJsonValue(v);
  }
  return obj;
}

function fromTag(obj: Record<string, unknown>): unknown {
  const tag = obj[TAG];
  const v = obj.v;
  switch (tag) {
    case 'num':
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      break;
    case 'bigint':
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
      break;
    case 'bin':
      if (typeof v === 'string') return Buffer.from(v, 'base64');
      break;
    case 'date':
      if (v === null) return new Date(NaN);
      if (typeof v === 'number') return new Date(v);
      break;
    case 'undefined':
      return undefined;
    case 'obj':
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        const inner = v as Record<string, unknown>;
        for (const k in inner) {
          const x = inner[k];
          if (typeof x === 'object' && x !== null) inner[k] = fromJsonValue(x);
        }
        return inner;
      }
      break;
    case 'mp':
    case 'raw':
    case 'key':
      if (typeof v === 'string') return new OpaqueValue(tag, Buffer.from(v, 'base64'));
      break;
    default:
      throw new InvalidBackupRecordError(`unknown value tag ${JSON.stringify(tag)}`);
  }
  throw new InvalidBackupRecordError(`malformed ${String(tag)} tag: ${JSON.stringify(obj).slice(0, 100)}`);
}
