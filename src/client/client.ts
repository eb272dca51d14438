/**
 * client: a typed client of the pagevault server's HTTP API (server/routes.ts), used by
 * the CLI's `--url` mode and importable by applications. Errors the server reports come
 * back as PagevaultErrors with the server's code; a server that cannot be reached, or a
 * reply that is not the API's, is ServerUnreachableError.
 */
import { ErrorCodes, PagevaultError, ServerUnreachableError, TimeoutError, type ErrorCode } from '../errors.js';
import type { OperationRecord } from '../tasks/operation.js';
import type { OneTimeBackup, TaskStatus } from '../tasks/runner.js';
import type { TaskDefinition, TaskEncryption, TaskInput } from '../tasks/task.js';

/** RemoteError: an error the server reported (its code and message, as thrown there). */
export class RemoteError extends PagevaultError {
  readonly status: number;

  constructor(code: ErrorCode, message: string, status: number) {
    super(code, message);
    this.status = status;
  }
}

/** ChainListing: what `GET /backups` returns per chain. */
export interface ChainListing {
  folder: string;
  source: string;
  database: string;
  type: 'snapshot' | 'backup';
  manual?: boolean;
  encrypted?: boolean;
  created?: string;
  restorePoints?: Array<{ file: string; kind: string; txnId: number; created: string; size: number }>;
  error?: string;
}

/** RestoreRequest: body of `POST /restore`. */
export interface RestoreRequest {
  source: string;
  database: string;
  upto?: string | number;
  defrag?: boolean;
  encryption?: TaskEncryption;
  startTimeoutMs?: number;
}

/** PagevaultClient: one server, one API key. */
export class PagevaultClient {
  readonly #base: string;
  readonly #key: string | undefined;

  constructor(url: string, apiKey?: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new PagevaultError(ErrorCodes.INVALID_ARGUMENT, `Expected a server URL like http://127.0.0.1:8470 but received ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new PagevaultError(ErrorCodes.INVALID_ARGUMENT, `Expected an http:// or https:// server URL but received ${JSON.stringify(url)}`);
    this.#base = parsed.toString().replace(/\/+$/, '');
    this.#key = apiKey;
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, {
        method,
        headers: { ...(this.#key ? { authorization: `Bearer ${this.#key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ServerUnreachableError(`cannot reach the pagevault server at ${this.#base} (${cause?.code ?? cause?.message ?? (err as Error).message})`, { cause: err });
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ServerUnreachableError(`the server at ${this.#base} answered ${method} ${path} with HTTP ${res.status} and a body that is not JSON: is it a pagevault server?`);
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string } }).error;
      if (!e?.code) throw new ServerUnreachableError(`the server at ${this.#base} answered ${method} ${path} with HTTP ${res.status} without an error code`);
      throw new RemoteError(e.code as ErrorCode, e.message ?? '', res.status);
    }
    return json as T;
  }

  health(): Promise<{ ok: boolean; version: string }> {
    return this.#call('GET', '/health');
  }

  databases(): Promise<Array<Record<string, unknown>>> {
    return this.#call('GET', '/databases');
  }

  tasks(): Promise<TaskStatus[]> {
    return this.#call('GET', '/tasks');
  }

  task(id: string): Promise<TaskStatus> {
    return this.#call('GET', `/tasks/${encodeURIComponent(id)}`);
  }

  createTask(input: TaskInput): Promise<TaskDefinition> {
    return this.#call('POST', '/tasks', input);
  }

  updateTask(id: string, input: TaskInput): Promise<TaskDefinition> {
    return this.#call('PUT', `/tasks/${encodeURIComponent(id)}`, input);
  }

  deleteTask(id: string): Promise<void> {
    return this.#call('DELETE', `/tasks/${encodeURIComponent(id)}`);
  }

  setEnabled(id: string, enabled: boolean): Promise<TaskDefinition> {
    return this.#call('POST', `/tasks/${encodeURIComponent(id)}/${enabled ? 'enable' : 'disable'}`, {});
  }

  backupNow(id: string, kind: 'full' | 'incremental'): Promise<OperationRecord> {
    return this.#call('POST', `/tasks/${encodeURIComponent(id)}/backup`, { kind });
  }

  /** delay: `until` a time, for `durationMs`, or null to stop delaying. */
  delay(id: string, until: Date | { durationMs: number } | null): Promise<TaskStatus> {
    const body = until === null ? { until: null } : until instanceof Date ? { until: until.toISOString() } : until;
    return this.#call('POST', `/tasks/${encodeURIComponent(id)}/delay`, body);
  }

  oneTimeBackup(req: OneTimeBackup): Promise<OperationRecord> {
    const { database, ...rest } = req;
    return this.#call('POST', `/databases/${encodeURIComponent(database)}/backup`, rest);
  }

  operations(filter: { task?: string; database?: string; limit?: number } = {}): Promise<OperationRecord[]> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, String(v));
    return this.#call('GET', `/operations${q.size ? `?${q}` : ''}`);
  }

  operation(id: string): Promise<OperationRecord> {
    return this.#call('GET', `/operations/${encodeURIComponent(id)}`);
  }

  cancel(id: string): Promise<OperationRecord> {
    return this.#call('POST', `/operations/${encodeURIComponent(id)}/cancel`, {});
  }

  backups(destination: string, database?: string): Promise<{ destination: string; chains: ChainListing[] }> {
    const q = new URLSearchParams({ destination, ...(database ? { database } : {}) });
    return this.#call('GET', `/backups?${q}`);
  }

  restore(req: RestoreRequest): Promise<OperationRecord> {
    return this.#call('POST', '/restore', req);
  }

  /**
   * waitFor: poll the operation every `intervalMs` until it ends, calling `onUpdate` with
   * each record; resolves with the final record (any final status). TimeoutError after
   * `timeoutMs` (the operation goes on; cancel it explicitly if wanted).
   */
  async waitFor(id: string, options: { timeoutMs?: number; intervalMs?: number; onUpdate?: (op: OperationRecord) => void; signal?: AbortSignal } = {}): Promise<OperationRecord> {
    const deadline = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : Infinity;
    const interval = options.intervalMs ?? 250;
    for (;;) {
      const op = await this.operation(id);
      options.onUpdate?.(op);
      if (op.status !== 'queued' && op.status !== 'running') return op;
      if (Date.now() >= deadline) throw new TimeoutError(`operation ${id} is still ${op.status} after ${options.timeoutMs} ms (it goes on on the server)`);
      if (options.signal?.aborted) throw options.signal.reason;
      await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
    }
  }
}
