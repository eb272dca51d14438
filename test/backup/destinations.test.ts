/**
 * Several destinations: one backup pass writes the same file and manifest to each; an
 * incremental continues only where every destination has the chain; a failing
 * destination fails the backup (default) or not (best-effort) while the others complete.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { backupJson } from '../../src/backup/json-backup.js';
import { backupSnapshot } from '../../src/backup/snapshot-backup.js';
import { openDatabase } from '../../src/docdb/database.js';
import { ErrorCodes } from '../../src/errors.js';
import { restoreSnapshot } from '../../src/restore/snapshot-restore.js';
import { LocalSink } from '../../src/sinks/local.js';
import type { Sink } from '../../src/sinks/sink.js';
import { withLog } from '../../src/sinks/wrap/log.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv('pv-dests-');

/** brokenSink: a real local sink whose puts of backup files fail midway (fault injection). */
function brokenSink(root: string): Sink {
  const inner = new LocalSink(root);
  return {
    name: `broken+${inner.name}`,
    properties: inner.properties,
    async put(key, body, o) {
      if (key.endsWith('manifest.json')) return inner.put(key, body, o);
      const failing = Readable.from(
        (async function* () {
          for await (const c of body) {
            yield c as Buffer;
            throw new Error('injected: destination went away');
          }
        })(),
      );
      return inner.put(key, failing, o);
    },
    get: (k, r) => inner.get(k, r),
    stat: (k) => inner.stat(k),
    list: (p) => inner.list(p),
    remove: (k) => inner.remove(k),
    close: () => inner.close(),
  };
}

describe('backups to several destinations', () => {
  it('writes identical chains to every destination; a destination added later forces a full', async () => {
    const db = openDatabase(join(tmp.dir, 'db'));
    try {
      for (let i = 0; i < 200; i++) await db.put('Users', null, { i });
      const a = join(tmp.dir, 'a');
      const b = join(tmp.dir, 'b');
      const full = await backupSnapshot({ db: db.env, destination: [a, b], name: 'db' });
      expect(full.destinations.map((d) => d.ok)).toEqual([true, true]);
      await db.put('Users', null, { more: 1 });
      const inc = await backupSnapshot({ db: db.env, destination: [a, b], name: 'db', incremental: true });
      expect(inc.kind).toBe('incremental-snapshot');
      for (const dest of [a, b]) {
        const r = await restoreSnapshot({ from: join(dest, inc.chain), to: join(tmp.dir, `r-${dest.endsWith('a') ? 'a' : 'b'}`) });
        expect(r.txnId).toBe(inc.txnId);
      }
      const c = join(tmp.dir, 'c');
      const again = await backupSnapshot({ db: db.env, destination: [a, c], name: 'db', incremental: true });
      expect(again.kind).toBe('full-snapshot');
      expect(again.fullReason).toMatch(/does not have the chain/);
      const json = await backupJson({ db: db.env, destination: [a, b], name: 'db' });
      expect(json.destinations.map((d) => d.ok)).toEqual([true, true]);
    } finally {
      await db.close();
    }
  });

  it('a failing destination fails the backup by default, and not with best-effort; the others complete', async () => {
    const db = openDatabase(join(tmp.dir, 'db'));
    try {
      for (let i = 0; i < 200; i++) await db.put('Users', null, { i, pad: 'x'.repeat(500) });
      const good = join(tmp.dir, 'good');
      const bad = brokenSink(join(tmp.dir, 'bad'));
      const err = await backupSnapshot({ db: db.env, destination: [good, bad], name: 'db' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCodes.DESTINATION_FAILED });
      const statuses = (err as { destinations: Array<{ ok: boolean; error?: string }> }).destinations;
      expect(statuses.map((d) => d.ok)).toEqual([true, false]);
      expect(statuses[1].error).toMatch(/injected/);
      const r = await backupSnapshot({ db: db.env, destination: [good, bad], name: 'db', policy: 'best-effort' });
      expect(r.destinations.map((d) => d.ok)).toEqual([true, false]);
      const restored = await restoreSnapshot({ from: join(good, r.chain), to: join(tmp.dir, 'restored') });
      expect(restored.txnId).toBe(r.txnId);
      const badKeys: string[] = [];
      for await (const o of bad.list('')) badKeys.push(o.key);
      expect(badKeys).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('local-first: the local copy completes first, then the others are uploaded from it', async () => {
    const db = openDatabase(join(tmp.dir, 'db'));
    try {
      for (let i = 0; i < 300; i++) await db.put('Users', null, { i, pad: 'y'.repeat(300) });
      const local = join(tmp.dir, 'local');
      const remoteLike = new LocalSink(join(tmp.dir, 'remote'));
      const bad = brokenSink(join(tmp.dir, 'bad'));
      const r = await backupSnapshot({ db: db.env, destination: [remoteLike, local, bad], name: 'db', upload: 'local-first', policy: 'best-effort' });
      expect(r.destinations.map((d) => d.ok)).toEqual([true, true, false]);
      for (const root of [join(tmp.dir, 'remote'), local]) {
        const restored = await restoreSnapshot({ from: join(root, r.chain), to: join(tmp.dir, `r-${root.endsWith('local') ? 'l' : 'r'}`) });
        expect(restored.txnId).toBe(r.txnId);
      }
      // Without a local destination a temporary folder stages the file.
      const remotes = [withLog(new LocalSink(join(tmp.dir, 'r1')), () => undefined), withLog(new LocalSink(join(tmp.dir, 'r2')), () => undefined)];
      const j = await backupJson({ db: db.env, destination: remotes, name: 'db2', upload: 'local-first' });
      expect(j.destinations.map((d) => d.ok)).toEqual([true, true]);
      expect((await remotes[1].stat(`${j.chain}/${j.file}`)).size).toBe(j.bytesWritten);
    } finally {
      await db.close();
    }
  });
});
