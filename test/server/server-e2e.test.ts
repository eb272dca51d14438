/**
 * The server and the CLI end to end, as a user runs them: `pagevault serve` and every
 * client command are spawned processes, the database is a real generated one, and
 * `pagevault load` writes to it from its own process while tasks run. The checks read the
 * real files on the destinations.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'lmdb';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagevaultClient, RemoteError, type OperationRecord } from '../../src/index.js';
import { digestEnv } from '../helpers/env-digest.js';

const BIN = resolve(__dirname, '../../bin/pagevault.js');
let dir: string;
let dataDir: string;
let db: string;

interface Served {
  url: string;
  child: ChildProcess;
  out: string[];
  exited: Promise<number | null>;
}

let server: Served;
let apiKey: string;

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000, env: { ...process.env, PAGEVAULT_API_KEY: apiKey } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** serve: start `pagevault serve` on a free port; resolves once it prints its URL. */
function serve(): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolvePromise, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        out.push(line);
        const m = /listening on (http:\/\/\S+)/.exec(line);
        if (m) resolvePromise({ url: m[1], child, out, exited });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    void exited.then((code) => reject(new Error(`pagevault serve exited with ${code}: ${err}`)));
  });
}

function client(key = apiKey): PagevaultClient {
  return new PagevaultClient(server.url, key);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** runningWithProgress: resolves once the operation is running and has reported progress. */
const runningWithProgress = (id: string): Promise<OperationRecord> =>
  until(`operation ${id} to run`, async () => {
    const op = await client().operation(id);
    if (!op.isRunning && op.status !== 'queued') throw new Error(`operation ${id} ended before it could be observed running: ${JSON.stringify(op)}`);
    return op.isRunning && op.progress && op.progress.done > 0 ? op : undefined;
  });

/** Every file under `root`, relative. */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(root, f)).isFile());
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pv-server-'));
  dataDir = join(dir, 'srv');
  db = join(dataDir, 'databases', 'orders');
  // ~110 MB: big enough that a gzip-9 backup runs for seconds (to be queued behind, cancelled, killed).
  const g = spawnSync(process.execPath, [BIN, 'generate', '--db', db, '--docs', '100000', '--seed', 'server', '--quiet', '--json'], { encoding: 'utf8' });
  expect(g.status, g.stderr).toBe(0);
  server = await serve();
  const keyLine = server.out.find((l) => l.includes('created an API key'));
  expect(keyLine).toBeDefined();
  apiKey = /(pv_\S+)/.exec(keyLine!)![1];
});

afterAll(async () => {
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('pagevault serve and the CLI, end to end', () => {
  it('refuses requests without an API key or with a wrong one; health needs none', async () => {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    const none = await fetch(`${server.url}/tasks`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('PAGEVAULT_ERR_UNAUTHORIZED');
    await expect(client('pv_wrong').tasks()).rejects.toMatchObject({ code: 'PAGEVAULT_ERR_UNAUTHORIZED', status: 401 });
    await expect(client(apiKey.slice(0, -1)).databases()).rejects.toBeInstanceOf(RemoteError);
    const wrong = spawnSync(process.execPath, [BIN, 'status', '--url', server.url, '--api-key', 'pv_nope'], { encoding: 'utf8' });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr.trim()).toMatch(/^pagevault: PAGEVAULT_ERR_UNAUTHORIZED: /);
    // The key file holds only hashes.
    expect(readdirSync(join(dataDir, '.pagevault'))).toContain('api-keys.json');
    expect(spawnSync('grep', ['-r', apiKey, join(dataDir, '.pagevault')]).status).toBe(1);
    // A second key made with `apikey create` works at once.
    const second = cli('apikey', 'create', '--data', dataDir, '--name', 'ci').stdout.trim();
    expect((await client(second).databases()).map((d) => d.name)).toEqual(['orders']);
  });

  it('validates tasks with clear errors', () => {
    const badCron = cli('tasks', 'add', '--url', server.url, '--database', 'orders', '--dest', join(dir, 'x'), '--full-cron', '61 * * * *');
    expect(badCron.code).toBe(1);
    expect(badCron.stderr).toMatch(/PAGEVAULT_ERR_INVALID_ARGUMENT: invalid full cron expression "61 \* \* \* \*"/);
    const scheme = cli('tasks', 'add', '--url', server.url, '--database', 'orders', '--dest', 'gopher://x/y', '--full-cron', '0 * * * *');
    expect(scheme.stderr).toMatch(/unknown destination scheme "gopher:\/\/"/);
    const short = cli('tasks', 'add', '--url', server.url, '--database', 'orders', '--dest', join(dir, 'x'), '--full-cron', '0 * * * *', '--retention', '30m');
    expect(short.stderr).toMatch(/retention too short/);
    const unknownDb = cli('tasks', 'add', '--url', server.url, '--database', 'nope', '--dest', join(dir, 'x'), '--full-cron', '0 * * * *');
    expect(unknownDb.stderr).toMatch(/unknown database "nope"/);
  });

  it('runs a scheduled task while `pagevault load` writes, and restores its chain through the API', async () => {
    const dest = join(dir, 'scheduled');
    // Every 3 seconds; with only an incremental schedule the first run is a full.
    const add = cli('tasks', 'add', '--url', server.url, '--database', 'orders', '--dest', dest, '--incremental-cron', '*/3 * * * * *', '--name', 'every3s', '--json');
    expect(add.code, add.stderr).toBe(0);
    const load = spawn(process.execPath, [BIN, 'load', '--db', db, '--writes-per-sec', '2000', '--duration', '8', '--quiet', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const loadDone = new Promise<number | null>((r) => load.on('exit', r));
    const status = await until('a full and two incrementals under load', async () => {
      const s = await client().task('every3s');
      return s.lastFull && s.lastIncremental && (await client().operations({ task: 'every3s' })).filter((o) => o.status === 'succeeded').length >= 3 ? s : undefined;
    });
    expect(status.lastError).toBeUndefined();
    expect(status.nextBackup?.kind).toBe('incremental');
    expect(await loadDone).toBe(0);
    // Writes stopped: disable the schedule, take one last incremental, then the chain equals the source.
    expect(cli('tasks', 'disable', 'every3s', '--url', server.url).code).toBe(0);
    await until('the last scheduled run to end', async () => ((await client().task('every3s')).status === 'disabled' ? true : undefined));
    const now = cli('tasks', 'run', 'every3s', '--url', server.url, '--kind', 'incremental', '--json');
    expect(now.code, now.stderr).toBe(0);
    const op = await client().waitFor((JSON.parse(now.stdout) as OperationRecord).id);
    expect(op.status).toBe('succeeded');
    expect(op.trigger).toBe('backup-now');

    const listing = await client().backups(dest);
    expect(listing.chains).toHaveLength(1);
    const chain = listing.chains[0];
    expect(chain.restorePoints!.length).toBeGreaterThanOrEqual(4);
    const r = cli('restore', '--url', server.url, '--source', chain.source, '--database-name', 'orders-restored', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/restored \d+ file\(s\) up to txn \d+ into database orders-restored/);
    const [a, b] = await Promise.all([digestEnv(db), digestEnv(join(dataDir, 'databases', 'orders-restored'))]);
    expect(b.databases).toEqual(a.databases);
    // Never over an existing database.
    const again = cli('restore', '--url', server.url, '--source', chain.source, '--database-name', 'orders-restored');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/PAGEVAULT_ERR_DESTINATION_NOT_EMPTY/);
    expect(cli('tasks', 'delete', 'every3s', '--url', server.url).code).toBe(0);
  });

  it('queues a second backup of the same database behind a running one, and cancels the running one cleanly', async () => {
    const slowDest = join(dir, 'slow');
    const manualDest = join(dir, 'manual');
    const task = await client().createTask({ database: 'orders', destinations: [slowDest], fullCron: '0 0 1 1 *', compression: 'gzip', level: 9, name: 'slow' });
    const first = await client().backupNow(task.id, 'full');
    const running = await runningWithProgress(first.id);
    // Per-destination upload progress is readable while it runs.
    expect(running.progress!.destinations).toEqual([{ destination: expect.stringContaining('slow') as unknown, bytes: expect.any(Number) as unknown }]);
    const second = cli('backup', '--url', server.url, '--database', 'orders', '--dest', manualDest, '--nowait', '--json');
    expect(second.code, second.stderr).toBe(0);
    const queued = JSON.parse(second.stdout) as OperationRecord;
    expect(queued.status).toBe('queued');
    expect(queued.queuedBehind).toBe(first.id);
    expect(queued.trigger).toBe('one-time');

    const cancelled = cli('cancel', '--url', server.url, '--operation', first.id, '--wait', '--json');
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id: first.id, status: 'cancelled', isRunning: false });
    // Nothing of the cancelled run looks complete: no chain, no finished file.
    expect(filesUnder(slowDest).filter((f) => !f.endsWith('.in-progress'))).toEqual([]);
    expect((await client().backups(slowDest)).chains).toEqual([]);

    // The queued one-time backup then ran, into a manual chain.
    const done = await client().waitFor(queued.id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const manual = await client().backups(manualDest);
    expect(manual.chains).toHaveLength(1);
    expect(manual.chains[0].manual).toBe(true);
    const st = cli('status', '--url', server.url, '--operation', queued.id);
    expect(st.stdout).toMatch(/succeeded one-time full snapshot of orders/);
  });

  it('reports a backup cut short by a killed server as failed after restart, with nothing that looks complete', async () => {
    const slowDest = join(dir, 'slow');
    const op = await client().backupNow('slow', 'full');
    await runningWithProgress(op.id);
    server.child.kill('SIGKILL');
    await server.exited;

    server = await serve();
    expect(server.out.some((l) => l.includes('created an API key'))).toBe(false);
    const after = await client().operation(op.id);
    expect(after).toMatchObject({ status: 'failed', isRunning: false, error: { code: 'PAGEVAULT_ERR_INTERRUPTED' } });
    const task = await client().task('slow');
    expect(task.status).toBe('error');
    expect(task.lastError?.code).toBe('PAGEVAULT_ERR_INTERRUPTED');
    expect((await client().backups(slowDest)).chains).toEqual([]);
    expect(filesUnder(slowDest).filter((f) => !f.endsWith('.in-progress'))).toEqual([]);
    // The partial file the killed backup was writing is swept at the restart, and the record says so.
    const swept = await until('the sweep of the interrupted backup', async () => (await client().operation(op.id)).cleanedUp);
    expect(swept).toEqual([expect.stringMatching(/\.\d+@[A-Za-z0-9-]+\.in-progress$/)]);
    expect(filesUnder(slowDest)).toEqual([]);

    // The server works on: the same task now completes, and the error clears.
    const retry = await client().backupNow('slow', 'full');
    expect((await client().waitFor(retry.id)).status).toBe('succeeded');
    expect((await client().task('slow')).status).toBe('active');
    expect((await client().backups(slowDest)).chains).toHaveLength(1);
  });

  it('backs up a database lmdb-js encrypts: its key from the server, a snapshot task must use it, incrementals work', async () => {
    const dbKey = 'server-e2e-database-key-0123456'.padEnd(32, 'x');
    const path = join(dataDir, 'databases', 'secret');
    const env = open({ path, encryptionKey: dbKey });
    await env.transaction(() => {
      for (let i = 0; i < 5000; i++) env.putSync(`k${i}`, `value ${i}`.repeat(10));
    });
    await env.close();
    const dest = join(dir, 'secret-backups');
    const task = { database: 'secret', destinations: [dest], fullCron: '0 0 1 1 *', name: 'secret' };

    // Without the database's key the server cannot back it up: the task says where the key goes.
    await expect(client().createTask(task)).rejects.toMatchObject({ code: 'PAGEVAULT_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/database-keys\/secret\.key/) as unknown });
    mkdirSync(join(dataDir, '.pagevault', 'database-keys'), { recursive: true });
    writeFileSync(join(dataDir, '.pagevault', 'database-keys', 'secret.key'), `${dbKey}\n`, { mode: 0o600 });
    // A snapshot of an encrypted database is encrypted with the database's own key (RavenDB's rule).
    await expect(client().createTask(task)).rejects.toMatchObject({ message: expect.stringMatching(/must be encrypted with the database's key/) as unknown });
    const otherKey = join(dir, 'other.key');
    expect(cli('key', 'generate', '--out', otherKey).code).toBe(0);
    await expect(client().createTask({ ...task, encryption: { mode: 'key', keyFile: otherKey } })).rejects.toMatchObject({ message: expect.stringMatching(/does not match database secret's key/) as unknown });
    const sameKey = join(dir, 'secret-backup.key');
    writeFileSync(sameKey, `${Buffer.from(dbKey, 'utf8').toString('base64')}\n`, { mode: 0o600 });
    const created = await client().createTask({ ...task, encryption: { mode: 'key', keyFile: sameKey } });

    const full = await client().waitFor((await client().backupNow(created.id, 'full')).id);
    expect(full.status, JSON.stringify(full.error)).toBe('succeeded');
    const writer = open({ path, encryptionKey: dbKey });
    await writer.transaction(() => {
      for (let i = 0; i < 200; i++) writer.putSync(`k${i * 17}`, `changed ${i}`);
    });
    await writer.close();
    const inc = await client().waitFor((await client().backupNow(created.id, 'incremental')).id);
    expect(inc.status, JSON.stringify(inc.error)).toBe('succeeded');
    expect(inc.result).toMatchObject({ fileKind: 'incremental-snapshot', chain: (full.result as { chain: string }).chain });
  });

  it('manages a task from the terminal: add, show, update, delay, status, history', () => {
    const add = cli('tasks', 'add', '--url', server.url, '--database', 'orders', '--dest', join(dir, 'cli-dest'), '--type', 'backup', '--full-cron', '0 2 * * 0', '--incremental-cron', '0 * * * *', '--time-zone', 'Europe/Oslo', '--retention', '7d', '--json');
    expect(add.code, add.stderr).toBe(0);
    const task = JSON.parse(add.stdout) as { id: string; name: string };
    expect(task.name).toBe(`orders backup to ${join(dir, 'cli-dest')}`);
    const show = cli('tasks', 'show', task.id, '--url', server.url);
    expect(show.stdout).toMatch(/status: +active/);
    expect(show.stdout).toMatch(/schedule: +full 0 2 \* \* 0, incremental 0 \* \* \* \* \(Europe\/Oslo\)/);
    expect(show.stdout).toMatch(/retention: +168h/);
    const update = cli('tasks', 'update', task.id, '--url', server.url, '--incremental-cron', 'none', '--name', 'weekly json');
    expect(update.code, update.stderr).toBe(0);
    const delayed = cli('tasks', 'delay', 'weekly json', '--url', server.url, '--for', '2d', '--json');
    expect(delayed.code, delayed.stderr).toBe(0);
    const status = JSON.parse(delayed.stdout) as { delayedUntil: string; nextBackup: { at: string; kind: string }; task: { incrementalCron?: string } };
    expect(status.task.incrementalCron).toBeUndefined();
    // The next run is after the delay.
    expect(Date.parse(status.nextBackup.at)).toBeGreaterThanOrEqual(Date.parse(status.delayedUntil));
    expect(Date.parse(status.delayedUntil) - Date.now()).toBeGreaterThan(47 * 3600_000);
    expect(cli('tasks', 'delay', 'weekly json', '--url', server.url, '--clear').stdout).toMatch(/no longer delayed/);
    const all = cli('status', '--url', server.url);
    expect(all.stdout).toMatch(/weekly json +\[active\] +orders backup/);
    // Bad command lines are usage errors (exit 2), unknown tasks are NOT_FOUND (exit 1).
    expect(cli('tasks', 'delay', 'weekly json', '--url', server.url).code).toBe(2);
    const missing = cli('tasks', 'show', 'nope', '--url', server.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/PAGEVAULT_ERR_NOT_FOUND: no task "nope"/);
    expect(cli('tasks', 'delete', 'weekly json', '--url', server.url).code).toBe(0);
  });
});
