/**
 * fault-proxy: a real TCP proxy on 127.0.0.1 (node:net) in front of a real HTTP server
 * (s3rver, Azurite), injecting the faults networks and services produce, so tests prove
 * the sinks' retries, the fan-out policy and memory bounds against real protocol stacks.
 *
 * Every client connection gets its own upstream connection. The proxy parses just enough
 * HTTP/1.1 of the client's bytes (request line, headers, `Content-Length` body) to see
 * where each request starts and ends; a request with a chunked body makes that connection
 * opaque (bytes still flow; later requests on it are not seen). Responses are not parsed.
 *
 * Faults (`inject`), each armed for `times` matching requests (default 1; `Infinity`
 * for always), matched by method and a regular expression on the request target:
 * - `httpError`: the proxy answers the request itself (status, headers, body) and closes
 *   the connection (`Connection: close`); the request never reaches the server. A request
 *   sent with `Expect: 100-continue` is answered right after its headers (the client then
 *   never sends the body, as RFC 9110 §10.1.1 allows); any other body is read and dropped
 *   first.
 * - `reset`: the request is forwarded; after `afterBytes` more bytes in `direction` ('up'
 *   counts the request's body, 'down' the response) both sockets are destroyed: the client
 *   sees ECONNRESET / "socket hang up" mid-transfer.
 * - `stall`: the request is forwarded, then nothing moves in `direction` for `ms`.
 * Throttling (`setRate`): `up`/`down` bytes per second for the whole proxy (shared by
 * every connection, like one slow link), as a destination reading its sockets slowly.
 *
 * Memory: each direction of each connection queues at most HIGH_WATER bytes, then pauses
 * the socket it reads from (the proxy runs in the test process, so its buffers count in
 * memory measurements).
 *
 * Counters (`stats`): connections, requests seen, faults injected by kind, bytes forwarded
 * each way; `requests` lists every request seen (method, target, whether a fault hit it)
 * so tests can assert that a failed request was sent again.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** HttpErrorFault: answer the request with this status instead of the server. */
export interface HttpErrorFault {
  kind: 'httpError';
  status: number;
  /** Body, e.g. an S3 `<Error><Code>SlowDown</Code>…` document. */
  body?: string;
  headers?: Record<string, string>;
}

/** ResetFault: destroy both sockets after `afterBytes` bytes of this request ('up') or its response ('down'). */
export interface ResetFault {
  kind: 'reset';
  afterBytes: number;
  direction: 'up' | 'down';
}

/** StallFault: forward nothing in `direction` for `ms` once this request starts. */
export interface StallFault {
  kind: 'stall';
  ms: number;
  direction: 'up' | 'down';
}

export type Fault = HttpErrorFault | ResetFault | StallFault;

/** RequestMatch: which requests a fault applies to (all given conditions must hold). */
export interface RequestMatch {
  method?: string;
  /** Tested against the request target (path and query), e.g. /partNumber=/ or /comp=block/. */
  target?: RegExp;
}

/** SeenRequest: one request the proxy parsed. */
export interface SeenRequest {
  connection: number;
  method: string;
  target: string;
  /** The kind of fault injected into this request, if any. */
  fault?: Fault['kind'];
}

/** FaultProxyStats: counters since start (or `resetStats`). */
export interface FaultProxyStats {
  connections: number;
  requests: SeenRequest[];
  injected: { httpError: number; reset: number; stall: number };
  bytesUp: number;
  bytesDown: number;
}

/** FaultProxy: a running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: point the sink's endpoint here. */
  readonly origin: string;
  readonly port: number;
  readonly stats: FaultProxyStats;
  /** inject: arm `fault` for the next `times` requests matching `match` (default: any request, once). */
  inject(fault: Fault, options?: { times?: number; match?: RequestMatch }): void;
  /** clearFaults: disarm every pending fault (stalls already running end on their own timer). */
  clearFaults(): void;
  /** setRate: bytes per second each way for the whole proxy; undefined for unlimited. */
  setRate(rate: { up?: number; down?: number }): void;
  resetStats(): void;
  /** stop: closes the listener and every connection; idempotent. */
  stop(): Promise<void>;
}

const HIGH_WATER = 256 * 1024;
/** The rate limiter sends at most this much per tick, so `slow` stays smooth. */
const SLICE = 16 * 1024;
/** How far a throttled link may catch up after a late timer. */
const BURST_MS = 50;

interface Armed {
  fault: Fault;
  remaining: number;
  match: RequestMatch;
}

/** Pump: one direction of one connection: a bounded queue drained at the current rate, with stall and reset hooks. */
class Pump {
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #rate: () => number | undefined;
  /** Shared by every pump of one direction: when the link is free again (ms since epoch). */
  readonly #link: { freeAt: number };
  readonly #onBytes: (n: number) => void;
  #queue: Buffer[] = [];
  #queued = 0;
  #pausedUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #resetAfter: number | undefined;
  #onReset: (() => void) | undefined;
  #ending = false;
  #busy = false;

  constructor(from: Socket, to: Socket, rate: () => number | undefined, link: { freeAt: number }, onBytes: (n: number) => void) {
    this.#from = from;
    this.#to = to;
    this.#rate = rate;
    this.#link = link;
    this.#onBytes = onBytes;
    to.on('drain', () => this.#run());
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued > HIGH_WATER) this.#from.pause();
    this.#run();
  }

  end(): void {
    this.#ending = true;
    this.#run();
  }

  stall(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms);
  }

  /** armReset: after `bytes` more bytes go through, call `onReset` (which destroys the sockets). */
  armReset(bytes: number, onReset: () => void): void {
    this.#resetAfter = bytes;
    this.#onReset = onReset;
    this.#run();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#queue = [];
    this.#queued = 0;
  }

  #run(): void {
    if (this.#busy || this.#to.destroyed) return;
    this.#busy = true;
    try {
      for (;;) {
        if (this.#timer !== undefined) return;
        const now = Date.now();
        if (this.#pausedUntil > now) return this.#later(this.#pausedUntil - now);
        if (this.#queue.length === 0) {
          if (this.#ending) this.#to.end();
          this.#from.resume();
          return;
        }
        if (this.#to.writableNeedDrain) return;
        const rate = this.#rate();
        if (rate !== undefined && this.#link.freeAt > now) return this.#later(this.#link.freeAt - now);
        let chunk = this.#queue[0];
        if (rate !== undefined && chunk.length > SLICE) chunk = chunk.subarray(0, SLICE);
        if (this.#resetAfter !== undefined && chunk.length >= this.#resetAfter) {
          const part = chunk.subarray(0, this.#resetAfter);
          if (part.length > 0) this.#to.write(part);
          this.#onBytes(part.length);
          this.#resetAfter = undefined;
          this.#onReset?.();
          return;
        }
        if (this.#resetAfter !== undefined) this.#resetAfter -= chunk.length;
        if (chunk.length === this.#queue[0].length) this.#queue.shift();
        else this.#queue[0] = this.#queue[0].subarray(chunk.length);
        this.#queued -= chunk.length;
        this.#to.write(chunk);
        this.#onBytes(chunk.length);
        if (this.#queued <= HIGH_WATER / 2) this.#from.resume();
        // A token bucket with a small burst: a timer that fires late does not lower the average rate.
        if (rate !== undefined) this.#link.freeAt = Math.max(now - BURST_MS, this.#link.freeAt) + (chunk.length / rate) * 1000;
      }
    } finally {
      this.#busy = false;
    }
  }

  #later(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, Math.max(1, Math.round(ms)));
  }
}

/** startFaultProxy: a proxy to `target` (`http://127.0.0.1:<port>`, path ignored) on a free loopback port. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const upstreamPort = Number(upstream.port);
  if (!upstreamPort) throw new Error(`Expected a target with an explicit port but received ${target}`);
  let armed: Armed[] = [];
  let rate: { up?: number; down?: number } = {};
  const stats: FaultProxyStats = { connections: 0, requests: [], injected: { httpError: 0, reset: 0, stall: 0 }, bytesUp: 0, bytesDown: 0 };
  const sockets = new Set<Socket>();
  const links = { up: { freeAt: 0 }, down: { freeAt: 0 } };

  function take(method: string, targetPath: string): Fault | undefined {
    const a = armed.find((x) => x.remaining > 0 && (x.match.method === undefined || x.match.method === method) && (x.match.target === undefined || x.match.target.test(targetPath)));
    if (!a) return undefined;
    a.remaining--;
    armed = armed.filter((x) => x.remaining > 0);
    stats.injected[a.fault.kind]++;
    return a.fault;
  }

  const server: Server = createServer((client) => {
    const id = ++stats.connections;
    const server = connect(upstreamPort, upstream.hostname);
    sockets.add(client).add(server);
    const kill = (): void => {
      up.close();
      down.close();
      client.destroy();
      server.destroy();
    };
    client.on('error', kill);
    server.on('error', kill);
    client.on('close', () => {
      sockets.delete(client);
      server.destroy();
    });
    server.on('close', () => {
      sockets.delete(server);
      client.destroy();
    });
    const up = new Pump(client, server, () => rate.up, links.up, (n) => (stats.bytesUp += n));
    const down = new Pump(server, client, () => rate.down, links.down, (n) => (stats.bytesDown += n));
    server.on('data', (d: Buffer) => down.push(d));
    server.on('end', () => down.end());

    // Request framing on the client's bytes.
    let head = Buffer.alloc(0);
    let bodyLeft = 0;
    let opaque = false;
    /** Set while a request answered by the proxy itself is having its body dropped. */
    let answering: HttpErrorFault | undefined;
    let closed = false;

    const answer = (f: HttpErrorFault): void => {
      closed = true;
      const body = Buffer.from(f.body ?? '');
      const headers = { 'Content-Length': String(body.length), Connection: 'close', ...(f.body ? { 'Content-Type': 'application/xml' } : {}), ...f.headers };
      const text = `HTTP/1.1 ${f.status} Injected\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n')}\r\n\r\n`;
      client.end(Buffer.concat([Buffer.from(text), body]));
      server.destroy();
    };

    const onClientData = (data: Buffer): void => {
      let rest = data;
      while (rest.length > 0 && !closed) {
        if (opaque) {
          up.push(rest);
          return;
        }
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, rest.length);
          if (!answering) up.push(rest.subarray(0, n));
          bodyLeft -= n;
          rest = rest.subarray(n);
          if (bodyLeft === 0 && answering) answer(answering);
          continue;
        }
        head = Buffer.concat([head, rest]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 64 * 1024) opaque = true;
          return;
        }
        const headBytes = head.subarray(0, end + 4);
        rest = head.subarray(end + 4);
        head = Buffer.alloc(0);
        const lines = headBytes.toString('latin1').split('\r\n');
        const [method = '', targetPath = ''] = lines[0].split(' ');
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const i = line.indexOf(':');
          if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
        }
        const fault = take(method, targetPath);
        stats.requests.push({ connection: id, method, target: targetPath, ...(fault ? { fault: fault.kind } : {}) });
        if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) opaque = true;
        else bodyLeft = Number(headers.get('content-length') ?? 0) || 0;
        if (fault?.kind === 'httpError') {
          if (bodyLeft === 0 || opaque || /100-continue/i.test(headers.get('expect') ?? '')) return answer(fault);
          answering = fault;
          continue;
        }
        up.push(headBytes);
        if (fault?.kind === 'stall') (fault.direction === 'up' ? up : down).stall(fault.ms);
        if (fault?.kind === 'reset') (fault.direction === 'up' ? up : down).armReset(fault.afterBytes, kill);
      }
    };
    client.on('data', onClientData);
    client.on('end', () => {
      if (!closed) up.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  let stopped = false;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    stats,
    inject(fault, options = {}) {
      armed.push({ fault, remaining: options.times ?? 1, match: options.match ?? {} });
    },
    clearFaults() {
      armed = [];
    },
    setRate(r) {
      rate = { ...r };
    },
    resetStats() {
      stats.connections = 0;
      stats.requests = [];
      stats.injected = { httpError: 0, reset: 0, stall: 0 };
      stats.bytesUp = 0;
      stats.bytesDown = 0;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** s3Error: the XML body S3 sends with an error status (`SlowDown`, `InternalError`…). */
export function s3Error(code: string, message = 'injected by the fault proxy'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>FAULTPROXY</RequestId></Error>`;
}

/** azureError: the XML body Azure Storage sends with an error status; pair with header `x-ms-error-code`. */
export function azureError(code: string, message = 'injected by the fault proxy'): string {
  return `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}
