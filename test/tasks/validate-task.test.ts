/**
 * validateTask tests: what a periodic task definition must satisfy before the runner
 * accepts it (bad cron, destinations, retention, schedule, database, keys of an encrypted
 * database), the generated name, and what an update keeps. validateTask is pure: every
 * fact from outside (hosted databases, schemes, key ids) comes in the context.
 */
import { describe, expect, it } from 'vitest';
import { validateTask, generatedTaskName, type TaskContext, type TaskInput } from '../../src/tasks/task.js';
import { RETENTION_TOO_SHORT } from '../../src/retention/index.js';
import { ErrorCodes, InvalidArgumentError } from '../../src/errors.js';
import { DAY, HOUR } from './support.js';

const context: TaskContext = { databases: ['shop', 'crm'], schemes: ['file', 's3', 'sftp'] };
const good: TaskInput = { database: 'shop', fullCron: '0 2 * * 0', incrementalCron: '0 * * * *', destinations: ['/backups/shop'], retention: { minimumAgeMs: 7 * DAY } };

const thrown = (fn: () => unknown): InvalidArgumentError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    return err as InvalidArgumentError;
  }
  throw new Error('expected validateTask to throw');
};

describe('validateTask: refusals', () => {
  it('names the bad cron expression, full or incremental', () => {
    expect(thrown(() => validateTask({ ...good, fullCron: '61 2 * * 0' }, context)).message).toContain('"61 2 * * 0"');
    expect(thrown(() => validateTask({ ...good, incrementalCron: 'every hour' }, context)).message).toContain('"every hour"');
  });

  it('refuses JSON tasks the database cannot serve: any on an lmdb-js-encrypted one, incrementals on a plain environment', () => {
    expect(thrown(() => validateTask({ ...good, type: 'backup' }, { ...context, databaseKind: 'encrypted' })).message).toMatch(/encrypted by lmdb-js.*use a snapshot task/);
    expect(thrown(() => validateTask({ ...good, type: 'backup' }, { ...context, databaseKind: 'env' })).message).toMatch(/JSON incremental backups follow the etags/);
    // A full-only JSON task of a plain environment, and any JSON task of a document database, are fine.
    expect(validateTask({ ...good, type: 'backup', incrementalCron: null }, { ...context, databaseKind: 'env' }).type).toBe('backup');
    expect(validateTask({ ...good, type: 'backup' }, { ...context, databaseKind: 'docdb' }).incrementalCron).toBe('0 * * * *');
    // Snapshots copy pages, whatever the database holds.
    expect(validateTask(good, { ...context, databaseKind: 'encrypted', databaseKeyId: null }).type).toBe('snapshot');
  });

  it('refuses an unknown time zone', () => {
    expect(thrown(() => validateTask({ ...good, timeZone: 'Mars/Olympus_Mons' }, context)).message).toContain('Mars/Olympus_Mons');
  });

  it('refuses a destination with an unknown scheme, naming the scheme, and accepts folders and known schemes', () => {
    const err = thrown(() => validateTask({ ...good, destinations: ['/backups/shop', 'gopher://host/x'] }, context));
    expect(err.message).toContain('gopher://');
    expect(validateTask({ ...good, destinations: ['/backups/shop', 's3://bucket/prefix?region=eu-west-1', 'file:///mnt/b'] }, context).destinations).toHaveLength(3);
  });

  it('refuses no destination and a destination listed twice', () => {
    thrown(() => validateTask({ ...good, destinations: [] }, context));
    thrown(() => validateTask({ ...good, destinations: ['/b', '/b'] }, context));
  });

  it('refuses a retention period under one hour with RETENTION_TOO_SHORT; exactly one hour is accepted', () => {
    const err = thrown(() => validateTask({ ...good, retention: { minimumAgeMs: HOUR - 1 } }, context));
    expect(err.message.startsWith(RETENTION_TOO_SHORT)).toBe(true);
    expect(err.message.startsWith('retention too short')).toBe(true);
    expect(validateTask({ ...good, retention: { minimumAgeMs: HOUR } }, context).retention).toEqual({ enabled: true, minimumAgeMs: HOUR });
    // Disabled retention may carry any period: it is not applied.
    expect(validateTask({ ...good, retention: { enabled: false, minimumAgeMs: 5 } }, context).retention).toEqual({ enabled: false, minimumAgeMs: 5 });
  });

  it('refuses a task with no schedule at all', () => {
    const err = thrown(() => validateTask({ database: 'shop', destinations: ['/b'] }, context));
    expect(err.message).toContain('schedule');
  });

  it('refuses an unknown database, naming it and the hosted ones', () => {
    const err = thrown(() => validateTask({ ...good, database: 'orders' }, context));
    expect(err.message).toContain('"orders"');
    expect(err.message).toContain('"shop"');
    thrown(() => validateTask({ ...good, database: '' }, context));
  });

  it('refuses an unknown type, compression or level', () => {
    thrown(() => validateTask({ ...good, type: 'pages' as never }, context));
    thrown(() => validateTask({ ...good, compression: 'lz4' as never }, context));
    thrown(() => validateTask({ ...good, level: 20 }, context));
  });

  it('refuses encryption mode "key" without exactly one key source', () => {
    thrown(() => validateTask({ ...good, encryption: { mode: 'key' } }, context));
    thrown(() => validateTask({ ...good, encryption: { mode: 'key', keyFile: '/k', keyEnv: 'K' } }, context));
    thrown(() => validateTask({ ...good, encryption: { mode: 'secret' } as never }, context));
  });

  it('requires a snapshot task of an encrypted database to use the database key', () => {
    const encrypted: TaskContext = { ...context, databaseKeyId: 'aaaa1111' };
    // No key at all.
    expect(thrown(() => validateTask(good, encrypted)).message).toContain('encrypted');
    // A key, but another one.
    const other = thrown(() => validateTask({ ...good, encryption: { mode: 'key', keyFile: '/keys/other' } }, { ...encrypted, taskKeyId: 'bbbb2222' }));
    expect(other.message).toContain('bbbb2222');
    expect(other.message).toContain('aaaa1111');
    // A key whose id could not be determined.
    thrown(() => validateTask({ ...good, encryption: { mode: 'key', keyEnv: 'SHOP_KEY' } }, encrypted));
    // The database's own key.
    const ok = validateTask({ ...good, encryption: { mode: 'key', keyEnv: 'SHOP_KEY' } }, { ...encrypted, taskKeyId: 'aaaa1111' });
    expect(ok.encryption).toEqual({ mode: 'key', keyEnv: 'SHOP_KEY' });
  });
});

describe('validateTask: normalized result', () => {
  it('fills defaults and generates a name from the type and first destination', () => {
    const t = validateTask({ database: 'shop', incrementalCron: ' 0 * * * * ', destinations: ['/backups/shop'] }, context);
    expect(t).toMatchObject({
      name: 'shop snapshot to /backups/shop',
      database: 'shop',
      type: 'snapshot',
      incrementalCron: '0 * * * *',
      timeZone: 'UTC',
      retention: { enabled: false, minimumAgeMs: 0 },
      encryption: { mode: 'none' },
      enabled: true,
    });
    expect(t.fullCron).toBeUndefined();
    expect(t.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(validateTask({ ...good, name: '  nightly  ' }, context).name).toBe('nightly');
  });

  it('generates names without credentials or query strings, counting extra destinations', () => {
    expect(generatedTaskName('shop', 'backup', ['sftp://alice:secret@host:22/srv/b', '/local'])).toBe('shop backup to sftp://host:22/srv/b +1');
    expect(generatedTaskName('shop', 'snapshot', ['s3://bucket/prefix?region=eu-west-1'])).toBe('shop snapshot to s3://bucket/prefix');
    const t = validateTask({ ...good, type: 'backup', destinations: ['s3://bucket/p?region=x', '/a', '/b'] }, context);
    expect(t.name).toBe('shop backup to s3://bucket/p +2');
    expect(t.name).not.toContain('region');
  });

  it('an update keeps the id and every field it does not mention', () => {
    const existing = validateTask({ ...good, name: 'shop hourly', encryption: { mode: 'key', keyFile: '/keys/shop' }, compression: 'gzip', level: 5, preferredNode: 'a' }, context);
    const updated = validateTask({ incrementalCron: '0 */2 * * *' }, context, existing);
    expect(updated).toEqual({ ...existing, incrementalCron: '0 */2 * * *' });

    // null clears an optional field; the rest stays.
    const fullOnly = validateTask({ incrementalCron: null, preferredNode: null }, context, existing);
    expect(fullOnly.id).toBe(existing.id);
    expect(fullOnly.incrementalCron).toBeUndefined();
    expect(fullOnly.preferredNode).toBeUndefined();
    expect(fullOnly.fullCron).toBe(existing.fullCron);
    expect(fullOnly.retention).toEqual(existing.retention);
    // Clearing the only remaining schedule is refused.
    thrown(() => validateTask({ fullCron: null }, context, fullOnly));
  });

  it('an update regenerates a generated name when the type or destinations change, but keeps a chosen one', () => {
    const generated = validateTask(good, context);
    expect(generated.name).toBe('shop snapshot to /backups/shop');
    expect(validateTask({ type: 'backup' }, context, generated).name).toBe('shop backup to /backups/shop');
    expect(validateTask({ destinations: ['/elsewhere'] }, context, generated).name).toBe('shop snapshot to /elsewhere');
    const chosen = validateTask({ ...good, name: 'mine' }, context);
    expect(validateTask({ type: 'backup', destinations: ['/elsewhere'] }, context, chosen).name).toBe('mine');
  });

  it('an update is validated like a creation', () => {
    const existing = validateTask(good, context);
    expect(thrown(() => validateTask({ retention: { minimumAgeMs: 60_000 } }, context, existing)).message.startsWith(RETENTION_TOO_SHORT)).toBe(true);
    expect(thrown(() => validateTask({ fullCron: '0 25 * * *' }, context, existing)).message).toContain('0 25 * * *');
    // The existing database is checked against the hosted ones at update time too.
    thrown(() => validateTask({ enabled: false }, { ...context, databases: ['crm'] }, existing));
  });
});
