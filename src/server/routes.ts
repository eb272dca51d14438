/**
 * routes: the server's HTTP API (issue 6, "Server and HTTP API"), on Fastify. Every
 * route but `GET /health` needs an API key (`Authorization: Bearer <key>` or
 * `X-Api-Key: <key>`). Bodies and replies are JSON. Errors reply
 * `{ "error": { "code": "PAGEVAULT_ERR_…", "message": "…" } }` with the HTTP status
 * `httpStatus(code)` picks, so clients branch on the same stable codes as the CLI.
 *
 *   GET    /health                          liveness and version (no key)
 *   GET    /databases                       hosted databases
 *   POST   /databases/:name/backup          one-time backup { type?, destinations, incremental?, encryption? } → 202 operation
 *   GET    /tasks                           status of every task
 *   POST   /tasks                           create a task (TaskInput) → 201 task
 *   GET    /tasks/:id                       one task's status (id or name)
 *   PUT    /tasks/:id                       update (fields given replace; null clears) → task
 *   DELETE /tasks/:id                       delete → 204
 *   POST   /tasks/:id/enable | /disable     → task
 *   POST   /tasks/:id/backup                backup now { kind: full|incremental } → 202 operation
 *   POST   /tasks/:id/delay                 { until: ISO } | { durationMs } | { until: null } → status
 *   GET    /operations?task=&database=&limit=   newest first
 *   GET    /operations/:id                  one operation (poll it while it runs)
 *   POST   /operations/:id/cancel           → operation
 *   GET    /backups?destination=URL[&database=]  chains and their restore points
 *   POST   /restore                         { source, database, upto?, defrag?, encryption?, startTimeoutMs? } → 202 operation
 *   POST   /destinations/test               { destination } → { ok, step?, error? } (a small put/stat/get/remove)
 *   GET    /schedule/preview?fullCron=&incrementalCron=&timeZone=&count=   next runs, in UTC and local time
 *
 * Wherever a body has `encryption`, it may carry the key by value (`{ mode: 'key', key:
 * base64 }`): the server stores it as a key file (stored-keys.ts) and keeps only the path.
 * The Studio's files are served at /studio/ (studio.ts), without a key.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { listAllChains, readManifest } from '../backup/chain-store.js';
import { ErrorCodes, InvalidArgumentError, isPagevaultError, UnauthorizedError } from '../errors.js';
import { openSink, redact } from '../sinks/registry.js';
import type { TaskRunner } from '../tasks/runner.js';
import type { ApiKeyChecker } from './api-keys.js';
import { isStudioUrl } from './studio.js';
import { storeSentKey } from './stored-keys.js';
import { probeDestination } from '../sinks/probe.js';
import { nextRuns, validateCron, validateTimeZone } from '../schedule/index.js';

/** RouteDeps: what the routes use. */
export interface RouteDeps {
  runner: TaskRunner;
  keys: ApiKeyChecker;
  version: string;
  /** Hosted databases with a few facts each. */
  databases(): Promise<Array<Record<string, unknown>>>;
  /** Throws NotFoundError unless `name` is a hosted database. */
  checkDatabase(name: string): Promise<void>;
  /** Throws unless `name` is a valid name no hosted database has (DestinationNotEmptyError when taken). */
  checkNewDatabase(name: string): Promise<void>;
  /** Where keys sent by value are stored (stored-keys.ts). */
  keysDir: string;
  /** Where unexpected errors (HTTP 500, a bug) are reported. */
  log?: (line: string) => void;
}

/** httpStatus: the HTTP status for an error code. */
export function httpStatus(code: string): number {
  switch (code) {
    case ErrorCodes.INVALID_ARGUMENT:
      return 400;
    case ErrorCodes.UNAUTHORIZED:
      return 401;
    case ErrorCodes.NOT_FOUND:
      return 404;
    case ErrorCodes.DESTINATION_NOT_EMPTY:
    case ErrorCodes.BACKUP_RUNNING:
    case ErrorCodes.RESTORE_BUSY:
      return 409;
    default:
      return 500;
  }
}

function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  const x = req.headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}

type Body = Record<string, unknown>;
const body = (req: FastifyRequest): Body => {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new InvalidArgumentError('Expected a JSON object as the request body');
  return b as Body;
};
const param = (req: FastifyRequest, name: string): string => (req.params as Record<string, string>)[name];


function stringList(value: unknown, what: string): string[] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string' || v === '')) throw new InvalidArgumentError(`Expected ${what} as a non-empty list of strings`);
  return value as string[];
}

/** registerRoutes: add the API to `app`. */
export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { runner } = deps;

  app.setErrorHandler((err: unknown, _req: FastifyRequest, reply: FastifyReply) => {
    if (isPagevaultError(err)) return reply.status(httpStatus(err.code)).send({ error: { code: err.code, message: err.message } });
    const e = err as { statusCode?: number; message?: string };
    // Fastify's own errors (bad JSON, body too large) are the client's fault.
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ error: { code: ErrorCodes.INVALID_ARGUMENT, message: e.message ?? 'bad request' } });
    }
    deps.log?.(`internal error in ${_req.method} ${_req.url.split('?')[0]}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return reply.status(500).send({ error: { code: 'PAGEVAULT_ERR_INTERNAL', message: e.message ?? String(err) } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: ErrorCodes.NOT_FOUND, message: `no route ${req.method} ${req.url.split('?')[0]}` } }));

  app.addHook('onRequest', async (req) => {
    if (req.url === '/health' || req.url.startsWith('/health?') || isStudioUrl(req.url)) return;
    const key = presentedKey(req);
    if (!key) throw new UnauthorizedError('an API key is required: send "Authorization: Bearer <key>" or "X-Api-Key: <key>"');
    if (!deps.keys.check(key)) throw new UnauthorizedError('the API key is not valid');
  });

  app.get('/health', async () => ({ ok: true, version: deps.version }));
  app.get('/databases', async () => deps.databases());

  app.post('/databases/:name/backup', async (req, reply) => {
    const b = body(req);
    await deps.checkDatabase(param(req, 'name'));
    const op = runner.oneTime({
      database: param(req, 'name'),
      type: b.type as 'snapshot' | 'backup' | undefined,
      destinations: stringList(b.destinations ?? b.destination, 'destinations'),
      incremental: b.incremental === true,
      encryption: await storeSentKey(b.encryption, deps.keysDir),
      ...(b.compression ? { compression: b.compression as 'zstd' | 'gzip' | 'none' } : {}),
    });
    return reply.status(202).send(op);
  });

  app.get('/tasks', async () => runner.allStatus());
  /** A task body, with a key sent by value stored as a key file first. */
  const taskBody = async (req: FastifyRequest): Promise<Body> => {
    const b = body(req);
    return b.encryption === undefined ? b : { ...b, encryption: await storeSentKey(b.encryption, deps.keysDir) };
  };
  app.post('/tasks', async (req, reply) => reply.status(201).send(await runner.createTask(await taskBody(req))));
  app.get('/tasks/:id', async (req) => runner.taskStatus(param(req, 'id')));
  app.put('/tasks/:id', async (req) => runner.updateTask(param(req, 'id'), await taskBody(req)));
  app.delete('/tasks/:id', async (req, reply) => {
    runner.deleteTask(param(req, 'id'));
    return reply.status(204).send();
  });
  app.post('/tasks/:id/enable', async (req) => runner.setEnabled(param(req, 'id'), true));
  app.post('/tasks/:id/disable', async (req) => runner.setEnabled(param(req, 'id'), false));
  app.post('/tasks/:id/backup', async (req, reply) => {
    const kind = body(req).kind ?? 'full';
    return reply.status(202).send(runner.backupNow(param(req, 'id'), kind as 'full' | 'incremental'));
  });
  app.post('/tasks/:id/delay', async (req) => {
    const b = body(req);
    if (b.until === null) return runner.delay(param(req, 'id'), null);
    if (typeof b.durationMs === 'number' && Number.isFinite(b.durationMs) && b.durationMs > 0) return runner.delay(param(req, 'id'), new Date(Date.now() + b.durationMs));
    if (typeof b.until === 'string' && !Number.isNaN(Date.parse(b.until))) return runner.delay(param(req, 'id'), new Date(b.until));
    throw new InvalidArgumentError('Expected { "until": ISO time }, { "durationMs": positive number } or { "until": null } to stop delaying');
  });

  app.get('/operations', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = q.limit === undefined ? undefined : Number(q.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new InvalidArgumentError(`Expected a positive integer limit but received ${JSON.stringify(q.limit)}`);
    return runner.operations({ taskId: q.task, database: q.database, limit });
  });
  app.get('/operations/:id', async (req) => runner.operation(param(req, 'id')));
  app.post('/operations/:id/cancel', async (req) => runner.cancel(param(req, 'id')));

  app.post('/destinations/test', async (req) => {
    const d = body(req).destination;
    if (typeof d !== 'string' || d.trim() === '') throw new InvalidArgumentError('Expected "destination": a folder path or URL');
    return probeDestination(d.trim());
  });

  app.get('/schedule/preview', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const timeZone = q.timeZone || 'UTC';
    validateTimeZone(timeZone);
    if (q.fullCron) validateCron(q.fullCron, timeZone, 'full');
    if (q.incrementalCron) validateCron(q.incrementalCron, timeZone, 'incremental');
    const count = Math.min(20, Math.max(1, Number(q.count ?? 5) || 5));
    const runs = nextRuns({ fullCron: q.fullCron || undefined, incrementalCron: q.incrementalCron || undefined, timeZone, hasFullYet: q.hasFullYet !== 'false' }, new Date(), count);
    const local = new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'medium', timeStyle: 'short' });
    return { timeZone, runs: runs.map((r) => ({ at: r.at.toISOString(), kind: r.kind, local: local.format(r.at) })) };
  });

  app.get('/backups', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.destination) throw new InvalidArgumentError('Expected ?destination=<folder or URL>');
    const sink = await openSink(q.destination);
    try {
      const chains = [];
      for (const ref of await listAllChains(sink)) {
        if (q.database && ref.database !== q.database) continue;
        try {
          const m = await readManifest(sink, ref.folder);
          chains.push({
            folder: ref.folder,
            source: `${redact(q.destination).replace(/\/+$/, '')}/${ref.folder}`,
            database: ref.database,
            type: m.type,
            manual: m.manual === true,
            encrypted: m.encrypted,
            keyId: m.keyId,
            created: m.created,
            restorePoints: m.files.map((f) => ({ file: f.name, kind: f.kind, txnId: f.txnId, created: f.created, size: f.size })),
          });
        } catch (err) {
          chains.push({ folder: ref.folder, database: ref.database, type: ref.type, error: (err as Error).message });
        }
      }
      return { destination: sink.name, chains };
    } finally {
      await sink.close();
    }
  });

  app.post('/restore', async (req, reply) => {
    const b = body(req);
    if (typeof b.source !== 'string') throw new InvalidArgumentError('Expected "source": the chain to restore (<destination>/<chain folder>)');
    if (typeof b.database !== 'string') throw new InvalidArgumentError('Expected "database": the name of the new database');
    const startTimeoutMs = b.startTimeoutMs === undefined ? undefined : Number(b.startTimeoutMs);
    if (startTimeoutMs !== undefined && (!Number.isFinite(startTimeoutMs) || startTimeoutMs < 0)) throw new InvalidArgumentError('Expected a non-negative startTimeoutMs');
    await deps.checkNewDatabase(b.database);
    const op = runner.restore(
      {
        source: b.source,
        database: b.database,
        ...(typeof b.upto === 'string' || typeof b.upto === 'number' ? { upto: b.upto } : {}),
        defrag: b.defrag === true,
        encryption: await storeSentKey(b.encryption, deps.keysDir),
      },
      startTimeoutMs,
    );
    return reply.status(202).send(op);
  });
}
