/**
 * Retention on every destination, remote ones included: a task with a daily full and a
 * 2-day retention writes real backups to a local folder, S3 (s3rver), Azure (Azurite), FTP
 * and SFTP at once, on a fake clock over a week. After every scheduled run each destination
 * holds exactly the same chains — the ones whose newest file is at most 2 days old, and the
 * newest — and nothing of a removed chain is left (no stray objects under its folder).
 * The servers run on loopback; the test fails if one cannot start.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAllChains } from '../../src/backup/chain-store.js';
import { chainFolderName } from '../../src/backup/naming.js';
import { openSink } from '../../src/sinks/registry.js';
import { FakeClock } from '../../src/tasks/clock.js';
import { createExecutors } from '../../src/tasks/executor.js';
import { TaskRunner } from '../../src/tasks/runner.js';
import { useCloudServers } from '../helpers/servers/cloud.js';
import { startFtpServer, type FtpTestServer } from '../helpers/servers/ftp-server.js';
import { startSftpServer, type SftpTestServer } from '../helpers/servers/sftp-server.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { DAY, drive, hostDatabase } from './support.js';

const tmp = useTmpEnv('pv-remote-retention-');
const cloud = useCloudServers('pv-retention');
let ftp: FtpTestServer;
let sftp: SftpTestServer;

beforeAll(async () => {
  [ftp, sftp] = await Promise.all([startFtpServer(), startSftpServer()]);
  process.env.FTP_PASSWORD = ftp.password;
  process.env.SFTP_PASSWORD = sftp.password;
}, 60_000);
afterAll(async () => {
  // useCloudServers restores the environment.
  await Promise.all([ftp?.stop(), sftp?.stop()]);
});

describe('retention on remote destinations', () => {
  it('removes the same whole chains from local, S3, Azure, FTP and SFTP', async () => {
    const { databasesDir, env } = await hostDatabase(tmp, 'shop');
    const destinations = [
      join(tmp.dir, 'local'),
      cloud.s3Url('bk'),
      cloud.azureUrl('bk'),
      `ftp://${ftp.user}@127.0.0.1:${ftp.port}/bk`,
      `sftp://${sftp.user}@127.0.0.1:${sftp.port}/bk?hostKeySha256=${encodeURIComponent(sftp.hostKeySha256)}`,
    ];
    const start = new Date('2026-03-02T12:00:00Z');
    const clock = new FakeClock(start);
    const runner = new TaskRunner({ clock, executors: createExecutors(databasesDir, () => clock.now()), context: () => ({ databases: ['shop'], schemes: ['file', 's3', 'azure', 'ftp', 'sftp'] }) });
    await runner.createTask({ database: 'shop', fullCron: '0 3 * * *', retention: { minimumAgeMs: 2 * DAY }, destinations });
    runner.start();

    const fulls: Date[] = [];
    let round = 0;
    await drive(runner, clock, new Date('2026-03-09T12:00:00Z'), async (at) => {
      await env.put(`change-${round++}`, { at: at.toISOString() });
      fulls.push(at);
      if (fulls.length < 2) return;
      // Before each run, every destination holds what the previous run left.
      await expectChains(destinations, fulls.slice(0, -1));
    });
    expect(fulls).toHaveLength(7);
    await runner.idle();
    await expectChains(destinations, fulls);
    const ops = runner.operations({ limit: 20 });
    expect(ops.every((o) => o.status === 'succeeded')).toBe(true);
    // Each run after the third removed one chain on each of the five destinations.
    const removed = ops.map((o) => (o.result as { retention?: { removed: string[]; errors: string[] } }).retention!);
    expect(removed.every((r) => r.errors.length === 0)).toBe(true);
    expect(removed.map((r) => r.removed.length).reverse()).toEqual([0, 0, 0, 5, 5, 5, 5]);
    await runner.stop();
  }, 180_000);
});

/** expectChains: every destination holds exactly the chains of `fulls` that retention keeps at the last one, and nothing else. */
async function expectChains(destinations: string[], fulls: Date[]): Promise<void> {
  const now = fulls.at(-1)!;
  const kept = fulls.filter((f, i) => i === fulls.length - 1 || now.getTime() - f.getTime() <= 2 * DAY).map((f) => chainFolderName(f, 'shop', 'snapshot'));
  for (const dest of destinations) {
    const sink = await openSink(dest);
    try {
      expect((await listAllChains(sink)).map((c) => c.folder), dest).toEqual(kept);
      // Nothing of a removed chain is left: every object belongs to a kept chain.
      const stray: string[] = [];
      for await (const o of sink.list('')) if (!kept.some((k) => o.key.startsWith(`${k}/`))) stray.push(o.key);
      expect(stray, dest).toEqual([]);
    } finally {
      await sink.close();
    }
  }
}
