/**
 * azurite-server: a real Azurite blob server (the azurite devDependency) on loopback, in a
 * child process, with a fresh data folder and one container, for tests of the azure://
 * sink.
 *
 * `startAzurite()` resolves once the server accepts requests and the container exists. It
 * throws (with the server's output) when the server cannot start within `timeoutMs`: tests
 * that need it must fail, never skip. `stop()` kills the process and removes the folder; it
 * is idempotent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';

/** AZURITE_ACCOUNT, AZURITE_KEY: Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** AzuriteServer: a running server and its container. */
export interface AzuriteServer {
  /** Service URL for `?endpoint=`: `http://127.0.0.1:<port>/devstoreaccount1`. */
  endpoint: string;
  account: string;
  container: string;
  credentials: { accountKey: string };
  /** containerClient: an account-key client for the container (for checks behind the sink's back). */
  containerClient: ContainerClient;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** startAzurite: see the module comment. `container` defaults to `pagevault-test`. */
export async function startAzurite(options: { container?: string; timeoutMs?: number } = {}): Promise<AzuriteServer> {
  const container = options.container ?? 'pagevault-test';
  const timeoutMs = options.timeoutMs ?? 20_000;
  const bin = fileURLToPath(new URL('../../../node_modules/.bin/azurite-blob', import.meta.url));
  const location = mkdtempSync(join(tmpdir(), 'pv-azurite-'));
  const port = await freePort();
  const child: ChildProcess = spawn(bin, ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location, '--silent', '--skipApiVersionCheck', '--loose'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited: string | undefined;
  child.once('exit', (code, sig) => (exited = `exited with ${code ?? sig}`));
  child.once('error', (err) => (exited = `failed to spawn ${bin}: ${err.message}`));

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (exited === undefined) {
      await new Promise<void>((res) => {
        child.once('exit', () => res());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    }
    rmSync(location, { recursive: true, force: true });
  };

  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const containerClient = new ContainerClient(`${endpoint}/${container}`, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), { retryOptions: { maxTries: 1 } });
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`Azurite (${bin}) ${exited} before accepting connections; output:\n${output}`);
    }
    try {
      await containerClient.createIfNotExists();
      break;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Azurite did not accept requests on port ${port} within ${timeoutMs} ms (last error: ${lastError}); output:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint, account: AZURITE_ACCOUNT, container, credentials: { accountKey: AZURITE_KEY }, containerClient, stop };
}
