/**
 * Retention policy tests, driven by recorded (golden) cases.
 *
 * Each `cases/*.json` holds { description, now, policy, chains, expected }: the input of
 * applyRetention and the decisions it must return. To add a case, write the file without
 * `expected` (or change an input), then regenerate the expected output and REVIEW the diff:
 *
 *   UPDATE_GOLDEN=1 npx vitest run test/retention
 *
 * With UPDATE_GOLDEN=1 the tests rewrite `expected` instead of comparing (they still
 * fail on a case without a description). Without it, a case lacking `expected` fails.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyRetention, MIN_RETENTION_MS, RETENTION_TOO_SHORT, validateRetentionPolicy } from '../../src/retention/index.js';
import type { ChainSummary, RetentionDecision, RetentionPolicy } from '../../src/retention/index.js';
import { ErrorCodes, InvalidArgumentError } from '../../src/errors.js';

const casesDir = join(dirname(fileURLToPath(import.meta.url)), 'cases');
const update = process.env.UPDATE_GOLDEN === '1';

interface GoldenCase {
  description: string;
  now: string;
  policy: RetentionPolicy;
  chains: ChainSummary[];
  expected?: RetentionDecision[];
}

const files = readdirSync(casesDir).filter((f) => f.endsWith('.json')).sort();

describe('applyRetention: recorded cases', () => {
  it('has at least 10 recorded cases', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  for (const file of files) {
    it(file, () => {
      const path = join(casesDir, file);
      const c = JSON.parse(readFileSync(path, 'utf8')) as GoldenCase;
      expect(typeof c.description).toBe('string');
      const actual = applyRetention(c.chains, c.policy, new Date(c.now));
      if (update) {
        writeFileSync(path, `${JSON.stringify({ ...c, expected: actual }, null, 2)}\n`);
        return;
      }
      expect(c.expected, `${file} has no expected output; run with UPDATE_GOLDEN=1 and review`).toBeDefined();
      expect(actual).toEqual(c.expected);
    });
  }
});

describe('applyRetention: properties', () => {
  const now = new Date('2026-04-01T00:00:00.000Z');
  const chain = (folder: string, created: string): ChainSummary => ({
    folder,
    database: 'db',
    type: 'snapshot',
    files: [{ name: `${folder}.full-snapshot`, created, kind: 'full-snapshot' }],
  });

  it('returns one decision per chain, in input order, and does not mutate its input', () => {
    const chains = [chain('c', '2026-01-03T00:00:00Z'), chain('a', '2026-01-01T00:00:00Z'), chain('b', '2026-03-31T00:00:00Z')];
    const before = JSON.stringify(chains);
    const d = applyRetention(chains, { enabled: true, minimumAgeMs: 7 * 86_400_000 }, now);
    expect(d.map((x) => x.folder)).toEqual(['c', 'a', 'b']);
    expect(d.map((x) => x.action)).toEqual(['remove', 'remove', 'keep']);
    expect(JSON.stringify(chains)).toBe(before);
  });

  it('never removes every complete chain of a database', () => {
    const chains = Array.from({ length: 20 }, (_, i) => chain(`c${String(i).padStart(2, '0')}`, new Date(Date.UTC(2020, 0, 1 + i)).toISOString()));
    const d = applyRetention(chains, { enabled: true, minimumAgeMs: MIN_RETENTION_MS }, now);
    expect(d.filter((x) => x.action === 'keep').map((x) => x.folder)).toEqual(['c19']);
  });
});

describe('validateRetentionPolicy', () => {
  const bad = (policy: unknown): InvalidArgumentError => {
    try {
      validateRetentionPolicy(policy as RetentionPolicy);
    } catch (err) {
      return err as InvalidArgumentError;
    }
    throw new Error('expected a throw');
  };

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, '7d'])('rejects period %s', (p) => {
    const err = bad({ enabled: true, minimumAgeMs: p });
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(err.message).toMatch(/retention\.minimumAgeMs/);
  });

  it('rejects a negative period even when disabled', () => {
    expect(bad({ enabled: false, minimumAgeMs: -5 })).toBeInstanceOf(InvalidArgumentError);
  });

  it('rejects a period under 1 hour as "retention too short" with a stable message', () => {
    const err = bad({ enabled: true, minimumAgeMs: MIN_RETENTION_MS - 1 });
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toBe(`${RETENTION_TOO_SHORT}: the retention period must be at least 1 hour (3600000 ms) but received 3599999 ms`);
  });

  it('accepts exactly 1 hour, and any period when disabled', () => {
    expect(() => validateRetentionPolicy({ enabled: true, minimumAgeMs: MIN_RETENTION_MS })).not.toThrow();
    expect(() => validateRetentionPolicy({ enabled: false, minimumAgeMs: 0 })).not.toThrow();
  });

  it('rejects a missing policy or non-boolean enabled', () => {
    expect(bad(undefined)).toBeInstanceOf(InvalidArgumentError);
    expect(bad({ enabled: 'yes', minimumAgeMs: MIN_RETENTION_MS })).toBeInstanceOf(InvalidArgumentError);
  });

  it('applyRetention validates the policy and now', () => {
    expect(() => applyRetention([], { enabled: true, minimumAgeMs: 60_000 }, new Date())).toThrow(RETENTION_TOO_SHORT);
    expect(() => applyRetention([], { enabled: true, minimumAgeMs: MIN_RETENTION_MS }, new Date('nope'))).toThrow(InvalidArgumentError);
  });
});
