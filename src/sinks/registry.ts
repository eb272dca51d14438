/**
 * registry: sinks by URL scheme. `openSink(destination, options)` turns a destination
 * string into a Sink: a plain path or `file://` URL is a local folder; other schemes are
 * looked up in the table below, and their credentials resolved here (open-options.ts):
 * from the JSON output of `credentialsCommand` (a secret store's CLI), then environment
 * variables, then explicit `credentials` (highest). Credentials never appear in a sink's
 * name or errors.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import { LocalSink } from './local.js';
import { withRetry } from './wrap/retry.js';
import type { SinkCredentials, SinkOpenOptions } from './open-options.js';
import type { Sink } from './sink.js';

/** SinkFactory: builds a sink for a parsed URL. */
export type SinkFactory = (url: URL, options: SinkOpenOptions) => Sink | Promise<Sink>;

/** ENV_CREDENTIALS: credential name → environment variable, per scheme. */
const ENV_CREDENTIALS: Record<string, Record<string, string>> = {
  s3: { accessKeyId: 'AWS_ACCESS_KEY_ID', secretAccessKey: 'AWS_SECRET_ACCESS_KEY', sessionToken: 'AWS_SESSION_TOKEN' },
  gs: { accessKeyId: 'GCS_HMAC_ACCESS_KEY_ID', secretAccessKey: 'GCS_HMAC_SECRET' },
  azure: { accountKey: 'AZURE_STORAGE_KEY', sasToken: 'AZURE_STORAGE_SAS' },
  ftp: { password: 'FTP_PASSWORD' },
  ftps: { password: 'FTP_PASSWORD' },
  sftp: { password: 'SFTP_PASSWORD', privateKey: 'SFTP_PRIVATE_KEY', privateKeyPath: 'SFTP_PRIVATE_KEY_PATH', passphrase: 'SFTP_PASSPHRASE' },
};

const factories = new Map<string, SinkFactory>();

/** registerSinkScheme: make `scheme://…` destinations open with `factory` (also for plugins). */
export function registerSinkScheme(scheme: string, factory: SinkFactory): void {
  factories.set(scheme.toLowerCase(), factory);
}

/** OpenSinkOptions: explicit credentials (highest precedence), a credentials command, the environment. */
export interface OpenSinkOptions extends Partial<Omit<SinkOpenOptions, 'credentials'>> {
  credentials?: SinkCredentials;
  /** A command (run without a shell, split on spaces) whose stdout is a JSON object of credentials. */
  credentialsCommand?: string;
  env?: NodeJS.ProcessEnv;
  /** Wrap network sinks in withRetry (default true). */
  retry?: boolean;
}

/** openSink: see the module comment. InvalidArgumentError for an unknown scheme or a bad URL. */
export async function openSink(destination: string, options: OpenSinkOptions = {}): Promise<Sink> {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(destination);
  if (!m) return new LocalSink(destination);
  const scheme = m[1].toLowerCase();
  if (scheme === 'file') return new LocalSink(fileURLToPath(destination));
  await loadBuiltin(scheme);
  const factory = factories.get(scheme);
  if (!factory) throw new InvalidArgumentError(`unknown destination scheme ${JSON.stringify(scheme)}; known: file, ${[...factories.keys()].join(', ')}`);
  let url: URL;
  try {
    url = new URL(destination);
  } catch {
    throw new InvalidArgumentError(`destination ${JSON.stringify(redact(destination))} is not a valid URL`);
  }
  const credentials = await resolveCredentials(scheme, options);
  const sink = await factory(url, { credentials, caCert: options.caCert, insecureTls: options.insecureTls });
  // Reads, stats, lists and removes of a network destination are retried after transient failures (a restore
  // or a chain check should not fail on one dropped connection); puts retry inside their protocol (parts, blocks).
  return options.retry === false ? sink : withRetry(sink, { attempts: 4 });
}

async function resolveCredentials(scheme: string, options: OpenSinkOptions): Promise<SinkCredentials> {
  const out: Record<string, string | undefined> = {};
  if (options.credentialsCommand) {
    const [cmd, ...args] = options.credentialsCommand.split(' ').filter(Boolean);
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)(cmd, args, { timeout: 30_000, maxBuffer: 1 << 20 }));
    } catch (err) {
      throw new InvalidArgumentError(`the credentials command failed (${(err as NodeJS.ErrnoException).code ?? 'error'}); its output is not shown because it may hold secrets`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(stdout);
    } catch {
      throw new InvalidArgumentError('the credentials command did not print a JSON object');
    }
    if (typeof parsed !== 'object' || parsed === null) throw new InvalidArgumentError('the credentials command did not print a JSON object');
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
  }
  const env = options.env ?? process.env;
  for (const [name, variable] of Object.entries(ENV_CREDENTIALS[scheme] ?? {})) if (env[variable] !== undefined) out[name] = env[variable];
  for (const [k, v] of Object.entries(options.credentials ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

/** redact: a destination string with any password or query string removed, for messages. */
export function redact(destination: string): string {
  return destination.replace(/\/\/[^/@]*@/, '//***@').replace(/\?.*$/, '?…');
}

/** BUILTIN: the network schemes pagevault ships sinks for (they load on first use). */
const BUILTIN: Record<string, () => Promise<void>> = {
  s3: async () => registerSinkScheme('s3', (await import('./s3.js')).createS3Sink),
  gs: async () => registerSinkScheme('gs', (await import('./s3.js')).createS3Sink),
  azure: async () => registerSinkScheme('azure', (await import('./azure.js')).createAzureSink),
  ftp: async () => registerSinkScheme('ftp', (await import('./ftp.js')).createFtpSink),
  ftps: async () => registerSinkScheme('ftps', (await import('./ftp.js')).createFtpSink),
  sftp: async () => registerSinkScheme('sftp', (await import('./sftp.js')).createSftpSink),
};

/** destinationSchemes: every scheme a destination URL may use: file, the built-in ones and any registered. */
export function destinationSchemes(): string[] {
  return [...new Set(['file', ...Object.keys(BUILTIN), ...factories.keys()])];
}

/** loadBuiltin: the built-in network sinks register on first use (their SDKs load only when needed). */
async function loadBuiltin(scheme: string): Promise<void> {
  if (factories.has(scheme)) return;
  await BUILTIN[scheme]?.();
}
