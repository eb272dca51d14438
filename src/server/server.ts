/**
 * server: `pagevault serve` — hosts the databases under one data folder and runs their
 * backup tasks while it serves the HTTP API (routes.ts). Layout of the data folder:
 *
 *   <data>/databases/<name>/        one lmdb-js environment per hosted database
 *   <data>/.pagevault/state.json    tasks, run state and history (tasks/state.ts)
 *   <data>/.pagevault/api-keys.json hashed API keys (api-keys.ts)
 *   <data>/.pagevault/keys/         encryption keys clients sent with tasks (stored-keys.ts)
 *   <data>/.pagevault/database-keys/<name>.key  the lmdb-js encryptionKey of a hosted database lmdb-js encrypts
 *
 * Writers (the application, `pagevault load`) write to the databases from their own
 * processes; backups pin a snapshot and read pages while they go on. The server binds to
 * 127.0.0.1 unless told otherwise.
 */
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Fastify from 'fastify';
import { DestinationNotEmptyError, InvalidArgumentError, IoError, NotFoundError } from '../errors.js';
import { keyId } from '../keys/index.js';
import { envInfo } from '../snapshot/index.js';
import { DbNames } from '../docdb/layout.js';
import { destinationSchemes } from '../sinks/registry.js';
import { systemClock, type Clock } from '../tasks/clock.js';
import { checkDatabaseName, createExecutors, keyFor } from '../tasks/executor.js';
import type { OperationRecord } from '../tasks/operation.js';
import { TaskRunner } from '../tasks/runner.js';
import { apiKeyChecker } from './api-keys.js';
import { registerRoutes } from './routes.js';
import { registerStudio } from './studio.js';
import { packageVersion } from '../util/package-version.js';

/** ServerOptions: see `pagevault serve --help`. */
export interface ServerOptions {
  /** The data folder (created if missing). */
  dataDir: string;
  /** TCP port; 0 picks a free one (the result's `url` says which). Default 8470. */
  port?: number;
  /** Interface to bind; default 127.0.0.1 (loopback only). */
  host?: string;
  /**
   * Serve HTTPS with this certificate and private key (PEM files). Recommended whenever the
   * server listens beyond loopback: API keys travel in every request.
   */
  tls?: { certFile: string; keyFile: string };
  clock?: Clock;
  /** Called with one line per finished operation and other events (default: none). */
  log?: (line: string) => void;
}

/** PagevaultServer: a running server. */
export interface PagevaultServer {
  url: string;
  runner: TaskRunner;
  /** Stop scheduling, cancel queued and running work, close the listener. */
  close(): Promise<void>;
}

/** DEFAULT_PORT: the port `pagevault serve` listens on unless told. */
export const DEFAULT_PORT = 8470;

/** serverPaths: where a data folder keeps what. */
export function serverPaths(dataDir: string): { databases: string; stateFile: string; apiKeys: string; keys: string; databaseKeys: string } {
  const root = resolve(dataDir);
  return {
    databases: join(root, 'databases'),
    stateFile: join(root, '.pagevault', 'state.json'),
    apiKeys: join(root, '.pagevault', 'api-keys.json'),
    keys: join(root, '.pagevault', 'keys'),
    databaseKeys: join(root, '.pagevault', 'database-keys'),
  };
}

/**
 * databaseKeyOf: the lmdb-js encryptionKey of hosted database `name`, from
 * `<data>/.pagevault/database-keys/<name>.key` (its first line), or undefined when there is none.
 */
export async function databaseKeyOf(databaseKeys: string, name: string): Promise<string | undefined> {
  try {
    return (await readFile(join(databaseKeys, `${checkDatabaseName(name)}.key`), 'utf8')).split(/\r?\n/)[0];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IoError(`cannot read the key of database ${name}: ${(err as Error).message}`, { cause: err });
  }
}

async function hostedDatabases(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    try {
      await stat(join(dir, e.name, 'data.mdb'));
      names.push(e.name);
    } catch {
      // A folder without data.mdb is not a database (a restore in progress writes elsewhere).
    }
  }
  return names.sort();
}

/** databaseKind: docdb, env or encrypted, from the data file (undefined when it cannot be read: validation then says what it can). */
async function databaseKind(path: string): Promise<'docdb' | 'env' | 'encrypted' | undefined> {
  try {
    const info = await envInfo(path);
    if (info.encrypted) return 'encrypted';
    const names = new Set((info.namedDatabases ?? []).map((d) => d.name));
    return names.has(DbNames.docs) && names.has(DbNames.meta) ? 'docdb' : 'env';
  } catch {
    return undefined;
  }
}

/** startServer: open the data folder, start the task runner and listen. */
export async function startServer(options: ServerOptions): Promise<PagevaultServer> {
  const paths = serverPaths(options.dataDir);
  await mkdir(paths.databases, { recursive: true });
  const log = options.log ?? (() => undefined);
  const logged = new Set<string>();
  const runner = new TaskRunner({
    clock: options.clock ?? systemClock,
    executors: createExecutors(paths.databases, undefined, (name) => databaseKeyOf(paths.databaseKeys, name)),
    stateFile: paths.stateFile,
    context: async (input, existing) => {
      const encryption = input.encryption ?? existing?.encryption;
      const key = await keyFor(encryption);
      const database = input.database ?? existing?.database;
      const kind = database ? await databaseKind(join(paths.databases, database)) : undefined;
      let databaseKeyId: string | null = null;
      if (database && kind === 'encrypted') {
        const dbKey = await databaseKeyOf(paths.databaseKeys, database);
        if (dbKey === undefined) {
          throw new InvalidArgumentError(`database ${database} is encrypted by lmdb-js: put its encryptionKey in ${join(paths.databaseKeys, `${database}.key`)} so the server can open and back it up`);
        }
        databaseKeyId = keyId(Buffer.from(dbKey, 'utf8'));
      }
      return { databases: await hostedDatabases(paths.databases), schemes: destinationSchemes(), databaseKeyId, taskKeyId: key?.id ?? null, databaseKind: kind };
    },
    onSaveError: (err) => log(`cannot write the server state ${paths.stateFile}: ${(err as Error).message} (kept in memory; retried at the next change)`),
    onChange: (op?: OperationRecord) => {
      if (!op || op.isRunning || op.status === 'queued' || logged.has(op.id)) return;
      logged.add(op.id);
      const what = op.type === 'restore' ? `restore into ${op.database}` : `${op.trigger} ${op.kind ?? ''} ${op.backupType ?? ''} backup of ${op.database}${op.taskName ? ` (task ${op.taskName})` : ''}`;
      log(`${op.endedAt} ${op.status} ${what.replace(/\s+/g, ' ')}${op.error ? `: ${op.error.code}: ${op.error.message}` : ''} [${op.id}]`);
    },
  });
  for (const op of runner.operations({ limit: 1000 })) logged.add(op.id);

  let https: { cert: Buffer; key: Buffer } | undefined;
  if (options.tls) {
    try {
      https = { cert: await readFile(options.tls.certFile), key: await readFile(options.tls.keyFile) };
    } catch (err) {
      await runner.stop();
      throw new IoError(`cannot read the TLS certificate or key: ${(err as Error).message}`, { cause: err });
    }
  }
  // One type for both: Fastify's http and https instances differ only in the server they wrap.
  const app = (https ? Fastify({ logger: false, bodyLimit: 1 << 20, https }) : Fastify({ logger: false, bodyLimit: 1 << 20 })) as unknown as ReturnType<typeof Fastify>;
  registerStudio(app);
  registerRoutes(app, {
    runner,
    keysDir: paths.keys,
    log,
    keys: apiKeyChecker(paths.apiKeys),
    version: packageVersion(),
    async databases() {
      const out = [];
      for (const name of await hostedDatabases(paths.databases)) {
        const path = join(paths.databases, name);
        try {
          const info = await envInfo(path);
          out.push({ name, path, sizeBytes: info.fileSize, pageSize: info.pageSize, lastTxnId: info.lastTxnId, encrypted: info.encrypted, namedDatabases: info.namedDatabaseCount });
        } catch (err) {
          out.push({ name, path, error: (err as Error).message });
        }
      }
      return out;
    },
    async checkDatabase(name) {
      if (!(await hostedDatabases(paths.databases)).includes(name)) throw new NotFoundError(`no database ${JSON.stringify(name)} in ${paths.databases}`);
    },
    async checkNewDatabase(name) {
      checkDatabaseName(name);
      try {
        await stat(join(paths.databases, name));
      } catch {
        return;
      }
      throw new DestinationNotEmptyError(`database ${name} already exists; a restore never writes over a database: choose a new name`);
    },
  });

  const host = options.host ?? '127.0.0.1';
  const address = await app.listen({ port: options.port ?? DEFAULT_PORT, host });
  runner.start();
  log(`pagevault server ${packageVersion()} listening on ${address} (data ${resolve(options.dataDir)})`);
  return {
    url: address,
    runner,
    async close() {
      await runner.stop();
      await app.close();
    },
  };
}
