/**
 * servers: loopback S3 (s3rver) and Azure Blob (Azurite) servers for the destination
 * benchmarks, the bench-side counterpart of test/helpers/servers (bench code does not
 * import from test/).
 *
 * Both run as SEPARATE Node processes (the packages' own command-line entry points, started
 * with this Node), not inside the benchmark child: an in-process s3rver would share the
 * child's event loop and its CPU time would be counted as pagevault's. As separate
 * processes they still compete for the machine's cores during the timed step; `cpuMs()`
 * reads each server's user+sys time from /proc so a scenario can report it beside the
 * child's own CPU.
 *
 * `startS3rver(dir)` / `startAzurite(dir)` resolve once the server answers requests and its
 * bucket/container exists; they throw (with the server's output) when it does not within
 * the timeout. Data lives in `dir` (under the run's outDir, so the runner removes it).
 * `stop()` kills the process; idempotent. A server still running when the child exits
 * (a scenario that failed before `after`) is killed by an 'exit' hook.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { HeadBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';

const require = createRequire(import.meta.url);

/** S3RVER_CREDENTIALS: the fixed key pair s3rver checks signatures with. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
/** AZURITE_ACCOUNT, AZURITE_KEY: Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** LoopbackServer: a running server process. */
export interface LoopbackServer {
  /** `s3rver` or `azurite`. */
  readonly kind: string;
  readonly pid: number;
  /** The destination URL of its bucket/container (no credentials). */
  readonly url: string;
  /** Credentials for `openSink(url, { credentials })`. */
  readonly credentials: Readonly<Record<string, string>>;
  /** User + system CPU time the server process has used so far, in ms (from /proc). */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** S3rverServer: a LoopbackServer plus what a plain S3Client needs. */
export interface S3rverServer extends LoopbackServer {
  readonly endpoint: string;
  readonly bucket: string;
  /** clientConfig: the S3Client configuration the s3:// sink uses for this server. */
  clientConfig(): S3ClientConfig;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

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

/** CLK_TCK: clock ticks per second of /proc/<pid>/stat times; 100 on every Linux Node runs on. */
const CLK_TCK = 100;

function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3; utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

interface Spawned {
  child: ChildProcess;
  output(): string;
  exited(): string | undefined;
  stop(): Promise<void>;
}

function spawnNode(script: string, args: string[]): Spawned {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  let exited: string | undefined;
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.once('exit', (code, sig) => {
    exited = `exited with ${code ?? sig}`;
    running.delete(child);
  });
  child.once('error', (err) => (exited = `failed to start ${script}: ${err.message}`));
  return {
    child,
    output: () => output,
    exited: () => exited,
    async stop() {
      if (exited !== undefined) return;
      await new Promise<void>((res) => {
        child.once('exit', () => res());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    },
  };
}

/** waitReady: call `probe` every 100 ms until it resolves; throw with the server's output on exit or timeout. */
async function waitReady(name: string, p: Spawned, probe: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const exited = p.exited();
    if (exited !== undefined) throw new Error(`${name} ${exited} before accepting requests; output:\n${p.output()}`);
    try {
      await probe();
      return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      await p.stop();
      throw new Error(`${name} did not accept requests within ${timeoutMs} ms (last error: ${lastError}); output:\n${p.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** startS3rver: s3rver on 127.0.0.1 with bucket `bucket`, data in `dir`. */
export async function startS3rver(dir: string, bucket = 'bench', timeoutMs = 20_000): Promise<S3rverServer> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const script = path.join(path.dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const p = spawnNode(script, ['--directory', dir, '--address', '127.0.0.1', '--port', String(port), '--silent', '--configure-bucket', bucket]);
  const endpoint = `http://127.0.0.1:${port}`;
  const clientConfig = (): S3ClientConfig => ({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { ...S3RVER_CREDENTIALS },
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const probeClient = new S3Client(clientConfig());
  try {
    await waitReady('s3rver', p, () => probeClient.send(new HeadBucketCommand({ Bucket: bucket })), timeoutMs);
  } finally {
    probeClient.destroy();
  }
  return {
    kind: 's3rver',
    pid: p.child.pid as number,
    url: `s3://${bucket}?endpoint=${encodeURIComponent(endpoint)}&forcePathStyle=true`,
    credentials: { ...S3RVER_CREDENTIALS },
    endpoint,
    bucket,
    clientConfig,
    cpuMs: () => procCpuMs(p.child.pid as number),
    stop: () => p.stop(),
  };
}

/** startAzurite: Azurite's blob service on 127.0.0.1 with container `container`, data in `dir`. */
export async function startAzurite(dir: string, container = 'bench', timeoutMs = 20_000): Promise<LoopbackServer> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const script = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
  const p = spawnNode(script, ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', dir, '--silent', '--skipApiVersionCheck', '--loose']);
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const client = new ContainerClient(`${endpoint}/${container}`, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), { retryOptions: { maxTries: 1 } });
  await waitReady('Azurite', p, () => client.createIfNotExists(), timeoutMs);
  return {
    kind: 'azurite',
    pid: p.child.pid as number,
    url: `azure://${AZURITE_ACCOUNT}/${container}?endpoint=${encodeURIComponent(endpoint)}`,
    credentials: { accountKey: AZURITE_KEY },
    cpuMs: () => procCpuMs(p.child.pid as number),
    stop: () => p.stop(),
  };
}

/** cpuSnapshot: each server's CPU ms so far, by kind, for cpuSince. */
export function cpuSnapshot(servers: readonly LoopbackServer[]): Record<string, number> {
  return Object.fromEntries(servers.map((s) => [s.kind, s.cpuMs()]));
}

/** cpuSince: per server, CPU ms used since `before` (from cpuSnapshot). */
export function cpuSince(servers: readonly LoopbackServer[], before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(servers.map((s) => [s.kind, Math.round(s.cpuMs() - (before[s.kind] ?? 0))]));
}
