/**
 * The Studio in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * against `pagevault serve` spawned on loopback with a real generated database. It creates
 * an encrypted task (the save button stays disabled until "I have saved this key" is
 * ticked), runs "Backup now", watches it finish, sees it in the history, restores it into a
 * new database, and checks the restored data through the API and byte for byte. Invalid
 * input shows its error next to the field. Screenshots of each screen go to
 * test-artifacts/studio/ (kept by CI as artefacts).
 *
 * Chromium comes from Debian (`apt-get install chromium`; `.ci/run` installs it): browser
 * downloads do not work here. Without it the test fails, saying so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagevaultClient } from '../../src/index.js';
import { digestEnv } from '../helpers/env-digest.js';

const BIN = resolve(__dirname, '../../bin/pagevault.js');
const CHROMIUM = process.env.PAGEVAULT_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = resolve(__dirname, '../../test-artifacts/studio');

let dir: string;
let dataDir: string;
let server: { url: string; child: ChildProcess; exited: Promise<unknown> };
let apiKey: string;
let browser: Browser;
let page: Page;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

function serve(): Promise<{ url: string; child: ChildProcess; exited: Promise<unknown>; key: string }> {
  // Credentials for S3 destinations come from the server's environment: with these, an unreachable host fails on the network, not on missing credentials.
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'studio-test', AWS_SECRET_ACCESS_KEY: 'studio-test-secret' };
  const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const exited = new Promise((r) => child.on('exit', r));
  let key = '';
  let err = '';
  return new Promise((resolvePromise, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      const k = /(pv_[A-Za-z0-9_-]+)/.exec(buf);
      if (k) key = k[1];
      const m = /listening on (http:\/\/\S+)/.exec(buf);
      if (m) resolvePromise({ url: m[1], child, exited, key });
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    void exited.then((code) => reject(new Error(`pagevault serve exited with ${String(code)}: ${err}`)));
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`apt-get install chromium\` (.ci/run does), or set PAGEVAULT_CHROMIUM`);
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'pv-studio-'));
  dataDir = join(dir, 'srv');
  const g = spawnSync(process.execPath, [BIN, 'generate', '--db', join(dataDir, 'databases', 'orders'), '--docs', '20000', '--seed', 'studio', '--quiet', '--json'], { encoding: 'utf8' });
  expect(g.status, g.stderr).toBe(0);
  // A larger one, backed up with gzip -9 to two destinations, to watch a backup while it runs.
  const big = spawnSync(process.execPath, [BIN, 'generate', '--db', join(dataDir, 'databases', 'big'), '--docs', '100000', '--seed', 'studio', '--quiet', '--json'], { encoding: 'utf8' });
  expect(big.status, big.stderr).toBe(0);
  const s = await serve();
  server = s;
  apiKey = s.key;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root, and on a closed network: no sandbox, no background connections.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Studio, in Chromium', () => {
  let key = '';
  const dest = (): string => join(dir, 'backups');

  it('signs in with an API key (a wrong one is refused) and lists the databases', async () => {
    await page.goto(`${server.url}/studio/`);
    await page.waitForURL(/#\/login$/);
    await page.getByLabel('API key').fill('pv_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#api-key-error').textContent()).toContain('not valid');
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'orders', exact: true }).waitFor();
    await shot('01-databases');
    // Keyboard only: focus the database link and press Enter.
    await page.getByRole('link', { name: 'orders', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Backups of orders', exact: true }).waitFor();
    await shot('02-backups-view');
  });

  it('shows errors next to the field: bad cron, no destination, an unreachable S3 host', async () => {
    await page.getByRole('link', { name: 'Create a periodic backup' }).click();
    await page.getByRole('heading', { name: /New periodic backup of orders/ }).waitFor();
    const full = page.locator('[data-role=full-cron]');
    await full.fill('61 * * * *');
    const fullError = page.locator(`#${await full.getAttribute('id')}-error`);
    await expect.poll(() => fullError.textContent()).toMatch(/invalid full cron expression "61 \* \* \* \*"/);
    expect(await full.getAttribute('aria-invalid')).toBe('true');
    await full.fill('0 3 * * *');
    await expect.poll(() => fullError.textContent()).toBe('');

    // No destination filled in: the error is by the destinations, and nothing is sent.
    await page.locator('[data-role=save]').click();
    await expect.poll(() => page.locator('[data-role=destinations-error]').textContent()).toBe('Add at least one destination.');

    // An S3 destination whose host refuses connections: "Test connection" says so in that row.
    const row = page.locator('[data-role=destination]').first();
    await row.locator('[data-role=dest-kind]').selectOption('s3');
    await row.locator('[data-field=bucket]').fill('pv-bucket');
    await row.locator('[data-field=region]').fill('us-east-1');
    await row.locator('[data-field=endpoint]').fill('http://127.0.0.1:9');
    await row.locator('[data-field=forcePathStyle]').check();
    await row.locator('[data-role=test-connection]').click();
    await expect.poll(() => row.locator('[data-role=dest-error]').textContent(), { timeout: 60_000 }).toMatch(/Test failed at put: .*(ECONNREFUSED|connect)/);
    await shot('03-form-errors');
  });

  it('creates an encrypted task: saving waits for "I have saved this key"', async () => {
    const row = page.locator('[data-role=destination]').first();
    await row.locator('[data-role=dest-kind]').selectOption('local');
    await row.locator('[data-field=path]').fill(dest());
    await row.locator('[data-role=test-connection]').click();
    await expect.poll(() => row.locator('[data-role=dest-ok]').textContent()).toMatch(/Connection works/);

    await page.locator('[data-role=name]').fill('orders nightly');
    await page.locator('[data-role=incremental-cron]').fill('*/30 * * * *');
    await page.locator('[data-role=time-zone]').fill('Europe/Oslo');
    await expect.poll(() => page.locator('[data-role=preview]').textContent()).toMatch(/Next runs \(Europe\/Oslo\)/);
    await page.locator('[data-role=retention-on]').check();
    await page.locator('[data-role=retention-days]').fill('7');

    await page.locator('[data-role=encrypt]').check();
    const save = page.locator('[data-role=save]');
    expect(await save.isDisabled()).toBe(true);
    const first = await page.locator('[data-role=key]').inputValue();
    await page.locator('[data-role=key-refresh]').click();
    key = await page.locator('[data-role=key]').inputValue();
    expect(key).not.toBe(first);
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(await save.isDisabled()).toBe(true);
    await page.locator('[data-role=key-saved]').check();
    expect(await save.isDisabled()).toBe(false);
    await shot('04-task-form');
    // Every form control has an accessible name (a label or aria-label).
    // (A string: the test is compiled without the DOM's types; it runs in the page.)
    const unlabelled = await page.evaluate(`[...document.querySelectorAll('main input, main select, main textarea')]
      .filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML.slice(0, 80))`);
    expect(unlabelled).toEqual([]);
    await save.click();
    await page.getByRole('heading', { name: 'Task orders nightly', exact: true }).waitFor();

    const tasks = await new PagevaultClient(server.url, apiKey).tasks();
    expect(tasks).toHaveLength(1);
    expect(tasks[0].task).toMatchObject({ name: 'orders nightly', type: 'snapshot', fullCron: '0 3 * * *', incrementalCron: '*/30 * * * *', timeZone: 'Europe/Oslo', retention: { enabled: true, minimumAgeMs: 7 * 86_400_000 }, destinations: [dest()] });
    expect(tasks[0].task.encryption).toMatchObject({ mode: 'key', keyFile: expect.stringMatching(/\.key$/) as unknown });
    await shot('05-task-details');
  });

  it('runs "Backup now", shows it finish and in the history with its size', async () => {
    await page.locator('[data-role=backup-full]').click();
    await expect.poll(() => page.locator('[data-role=history] tbody tr[data-status=succeeded]').count(), { timeout: 60_000 }).toBe(1);
    await page.locator('[data-role=backup-incremental]').click();
    await expect.poll(() => page.locator('[data-role=history] tbody tr[data-status=succeeded]').count(), { timeout: 60_000 }).toBe(2);
    const rows = await page.locator('[data-role=history] tbody tr').allTextContents();
    expect(rows[0]).toMatch(/incremental-snapshot.*backup-now.*succeeded/);
    expect(rows[1]).toMatch(/full-snapshot.*backup-now.*succeeded.*(KiB|MiB)/);
    expect(await page.locator('[data-role=last-full]').textContent()).toMatch(/full-snapshot/);
    expect(await page.locator('figure.chart').count()).toBe(2);
    await shot('06-history');
    expect(await page.locator('main').textContent()).not.toMatch(/\bnull\b|\bundefined\b|NaN/);
  });

  it('restores the backup into a new database, with the key, and the data comes back', async () => {
    await page.goto(`${server.url}/studio/#/db/orders/restore`);
    await page.locator('[data-role=restore-destination]').fill(dest());
    await page.locator('[data-role=list-points]').click();
    await expect.poll(() => page.locator('[data-role=restore-point]').count()).toBe(2);
    // Newest first: the incremental.
    expect(await page.locator('[data-role=restore-points] tbody tr').first().textContent()).toMatch(/incremental-snapshot.*encrypted/);
    await page.locator('[data-role=restore-point]').first().check();
    await page.locator('[data-role=new-name]').fill('orders-restored');
    await page.locator('[data-role=restore-key]').fill(key);
    await shot('07-restore-form');
    await page.locator('[data-role=start-restore]').click();
    await expect.poll(() => page.locator('[data-role=live] [data-role=operation]').getAttribute('data-status'), { timeout: 60_000 }).toBe('succeeded');
    await shot('08-restored');

    const client = new PagevaultClient(server.url, apiKey);
    const dbs = await client.databases();
    expect(dbs.map((d) => d.name)).toEqual(['big', 'orders', 'orders-restored']);
    const [a, b] = await Promise.all([digestEnv(join(dataDir, 'databases', 'orders')), digestEnv(join(dataDir, 'databases', 'orders-restored'))]);
    expect(b.databases).toEqual(a.databases);

    // Restoring again under the same name is refused next to the name field.
    const nameId = await page.locator('[data-role=new-name]').getAttribute('id');
    await page.locator('[data-role=start-restore]').click();
    await expect.poll(() => page.locator(`#${nameId}-error`).textContent()).toMatch(/already exists/);
  });

  it('takes a manual backup from its form and lists it among the one-time backups', async () => {
    await page.goto(`${server.url}/studio/#/db/orders/manual`);
    await page.locator('[data-role=type-backup]').check();
    await page.locator('[data-field=path]').fill(join(dir, 'manual'));
    await page.locator('[data-role=backup-now]').click();
    await expect.poll(() => page.locator('[data-role=live] [data-role=operation]').getAttribute('data-status'), { timeout: 60_000 }).toBe('succeeded');
    expect(await page.locator('[data-role=live]').textContent()).toMatch(/full-backup/);
    await shot('09-manual-backup');
    await page.goto(`${server.url}/studio/#/db/orders`);
    await expect.poll(() => page.locator('[data-role=one-time] tbody tr').count()).toBe(1);
    expect(await page.locator('[data-role=one-time] tbody tr').first().textContent()).toMatch(/full backup.*succeeded/);
  });

  it('shows a running backup live: progress, bytes, rate, ETA and bytes per destination', async () => {
    const client = new PagevaultClient(server.url, apiKey);
    const task = await client.createTask({ database: 'big', destinations: [join(dir, 'big-a'), join(dir, 'big-b')], fullCron: '0 0 1 1 *', compression: 'gzip', level: 9, name: 'big slow' });
    await page.goto(`${server.url}/studio/#/tasks/${task.id}`);
    await page.locator('[data-role=backup-full]').click();
    const text = page.locator('[data-role=live] [data-role=progress-text]');
    await text.waitFor({ timeout: 30_000 });
    await expect.poll(() => text.textContent()).toMatch(/\/ [\d,]+ pages, .* read, .* written, .*\/s, ETA /);
    await expect.poll(() => page.locator('[data-role=live] li').allTextContents()).toEqual([expect.stringMatching(/big-a: /), expect.stringMatching(/big-b: /)]);
    await shot('10-live-progress');
    // Nothing renders a missing value as text.
    expect(await page.locator('main').textContent()).not.toMatch(/\bnull\b|\bundefined\b|NaN/);
    await expect.poll(() => page.locator('[data-role=history] tbody tr[data-status=succeeded]').count(), { timeout: 120_000 }).toBe(1);
  });

  it('edits a task (keeping its key) and deletes it after confirming', async () => {
    const client = new PagevaultClient(server.url, apiKey);
    const before = (await client.task('orders nightly')).task;
    await page.goto(`${server.url}/studio/#/tasks/${before.id}`);
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit task orders nightly', exact: true }).waitFor();
    // The form shows what the task has.
    expect(await page.locator('[data-role=incremental-cron]').inputValue()).toBe('*/30 * * * *');
    expect(await page.locator('[data-field=path]').inputValue()).toBe(dest());
    await page.locator('[data-role=incremental-cron]').fill('15 * * * *');
    await page.locator('[data-role=save]').click();
    await page.getByRole('heading', { name: 'Task orders nightly', exact: true }).waitFor();
    const after = (await client.task(before.id)).task;
    expect(after).toEqual({ ...before, incrementalCron: '15 * * * *' });

    // Delete asks first; Cancel keeps the task.
    await page.locator('[data-role=delete]').click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect((await client.tasks()).map((t) => t.task.name)).toContain('orders nightly');
    await page.locator('[data-role=delete]').click();
    await shot('11-delete-confirm');
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'Backups of orders', exact: true }).waitFor();
    expect((await client.tasks()).map((t) => t.task.name)).not.toContain('orders nightly');
  });
});
