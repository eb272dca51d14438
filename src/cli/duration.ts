/** duration: `7d`, `12h`, `30m`, `45s`, `1d12h` or plain milliseconds, for options like --retention and --for. */
import { UsageError } from './args.js';

const UNITS: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** parseDuration: milliseconds of `text`, or UsageError naming `option`. */
export function parseDuration(text: string, option: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|w|d|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) {
    throw new UsageError(`--${option} must be a duration like 7d, 12h, 30m, 1d12h or milliseconds (got ${JSON.stringify(text)})`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]], 0));
}
