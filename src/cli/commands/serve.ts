/** serve: `pagevault serve` — host databases, run their backup tasks, answer the HTTP API. */
import { createApiKey, readApiKeys, serverPaths, startServer, DEFAULT_PORT } from '../../index.js';
import { UsageError, type CommandSpec, type ParsedOptions } from '../args.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'serve',
  summary: 'Run the pagevault server: hosted databases, scheduled backup tasks, the HTTP API.',
  usage: 'pagevault serve --data DIR [--port P] [--host 127.0.0.1] [--tls-cert FILE --tls-key FILE]',
  description: [
    'Hosts the lmdb-js databases in DIR/databases/<name>/ and runs their backup tasks on schedule while',
    'applications (or `pagevault load`) write to them. Tasks, run state and history live in',
    'DIR/.pagevault/state.json; a run cut short by a crash is reported as failed (PAGEVAULT_ERR_INTERRUPTED) at',
    'the next start. Every endpoint but /health needs an API key; when DIR has none, one is created and printed',
    'once (`pagevault apikey create --data DIR` makes more). Listens on loopback unless --host says otherwise.',
    'Stops cleanly on Ctrl-C or SIGTERM: running backups are cancelled and leave nothing that looks complete.',
    'With --tls-cert and --tls-key it serves HTTPS (do that whenever it listens beyond loopback); clients that do not',
    'know the certificate\'s issuer can be given it with NODE_EXTRA_CA_CERTS.',
  ].join('\n'),
  options: {
    data: { kind: 'string', value: 'DIR', help: 'data folder (created if missing)', required: true },
    port: { kind: 'int', value: 'P', help: 'TCP port (0: any free port, printed)', default: DEFAULT_PORT, min: 0, max: 65535 },
    host: { kind: 'string', value: 'HOST', help: 'interface to listen on', default: '127.0.0.1' },
    'tls-cert': { kind: 'string', value: 'FILE', help: 'serve HTTPS with this certificate (PEM); needs --tls-key' },
    'tls-key': { kind: 'string', value: 'FILE', help: 'the certificate\'s private key (PEM)' },
  },
  stopsOnSignal: true,
  examples: ['pagevault serve --data /var/lib/pagevault', 'pagevault serve --data ./srv --port 0'],
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const dataDir = o.data as string;
  const paths = serverPaths(dataDir);
  if (readApiKeys(paths.apiKeys).length === 0) {
    const { key } = createApiKey(paths.apiKeys, 'first');
    io.out(`created an API key (shown only now; the server keeps its hash): ${key}`);
  }
  const host = o.host as string;
  if ((o['tls-cert'] === undefined) !== (o['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const tls = o['tls-cert'] !== undefined ? { certFile: o['tls-cert'] as string, keyFile: o['tls-key'] as string } : undefined;
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    io.err(`pagevault serve: listening on ${host}, not only loopback: anyone who can reach it and holds an API key can start backups and restores${tls ? '' : '; API keys travel in clear without --tls-cert/--tls-key'}`);
  }
  const server = await startServer({ dataDir, port: o.port as number, host, tls, log: (line) => io.out(line) });
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  io.out('pagevault server stopping: cancelling running work');
  await server.close();
  return 0;
}
