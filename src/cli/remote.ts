/**
 * remote: what the CLI's server mode shares — the `--url` and `--api-key` options, the
 * client they make, and waiting for an operation with progress on stderr. The API key
 * comes from `--api-key` or the PAGEVAULT_API_KEY environment variable (so it need not
 * appear in the process list).
 */
import { PagevaultClient } from '../client/index.js';
import { PagevaultError } from '../errors.js';
import type { OperationRecord } from '../tasks/index.js';
import type { OptionSpec, ParsedOptions } from './args.js';
import type { Io } from './io.js';
import { formatBytes, ProgressBar } from './output.js';

/** SERVER_OPTIONS: `--url` and `--api-key`. */
export const SERVER_OPTIONS: Record<string, OptionSpec> = {
  url: { kind: 'string', value: 'URL', help: 'a pagevault server (http://HOST:PORT): run there instead of embedded' },
  'api-key': { kind: 'string', value: 'KEY', help: 'the server\'s API key (default: $PAGEVAULT_API_KEY)' },
};

/** clientFrom: the client for `--url`, with the key from `--api-key` or PAGEVAULT_API_KEY. */
export function clientFrom(o: ParsedOptions): PagevaultClient {
  return new PagevaultClient(o.url as string, (o['api-key'] as string | undefined) ?? process.env.PAGEVAULT_API_KEY);
}

/**
 * waitForOperation: poll `op` until it ends, drawing a progress bar on stderr unless
 * `quiet`; returns the final record. Ctrl-C stops waiting (the server's operation goes on).
 */
export async function waitForOperation(client: PagevaultClient, op: OperationRecord, io: Io, options: { timeoutMs?: number; quiet?: boolean; label: string }): Promise<OperationRecord> {
  let bar: ProgressBar | undefined;
  let queuedSaid = false;
  const final = await client.waitFor(op.id, {
    timeoutMs: options.timeoutMs,
    signal: io.signal,
    onUpdate: (cur) => {
      if (options.quiet) return;
      if (cur.status === 'queued' && !queuedSaid) {
        queuedSaid = true;
        io.err(`${options.label}: queued behind operation ${cur.queuedBehind ?? 'another'}`);
      }
      const p = cur.progress;
      if (cur.isRunning && p && p.total > 0) {
        bar ??= new ProgressBar(options.label, p.total, { unit: ` ${p.unit}`, stream: io.stderr });
        bar.update(p.done, `${formatBytes(p.bytesIn)} read, ${formatBytes(p.bytesOut)} written`);
      }
    },
  });
  bar?.done();
  return final;
}

/** failIfNotSucceeded: an operation that did not succeed becomes the CLI's error (its code, its message). */
export function failIfNotSucceeded(op: OperationRecord): void {
  if (op.status === 'succeeded') return;
  const code = (op.error?.code ?? 'PAGEVAULT_ERR_ABORTED') as ConstructorParameters<typeof PagevaultError>[0];
  throw new PagevaultError(code, `operation ${op.id} ${op.status}${op.error ? `: ${op.error.message}` : ''}`);
}
