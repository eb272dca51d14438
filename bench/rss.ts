/**
 * rss: peak-memory measurement for benchmark processes.
 *
 * Two measurements, because they answer different questions:
 *
 * - PEAK RSS (exact): the kernel's high-water mark of resident memory, `ru_maxrss`. For
 *   the Node child it is `process.resourceUsage().maxRSS` read at the end of the run
 *   (getrusage(RUSAGE_SELF)); for an external program (restic) it is GNU time's `%M`,
 *   which is the `ru_maxrss` that wait4(2) returns for that child. Both count file-backed
 *   pages too: an lmdb-js process that reads a 2 GB data.mdb through its mmap shows up to
 *   2 GB here even though that memory is page cache the kernel can reclaim at any time.
 *   Without /usr/bin/time we fall back to polling /proc/<pid>/status `VmHWM` every 20 ms,
 *   which is the same counter but can miss growth in the last interval (a lower bound).
 *
 * - PEAK ANON (sampled): the largest `RssAnon` (heap, stacks, malloc — memory the process
 *   really owns) seen while polling /proc every 50 ms during the timed phase only. It is
 *   a lower bound, but it separates "touched the mmap" from "allocated memory".
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { ExternalUsage } from './scenario.js';

const GNU_TIME = '/usr/bin/time';

/** ProcStatus: the /proc/<pid>/status fields we use, in bytes. */
export interface ProcStatus {
  name: string;
  vmHwm: number;
  vmRss: number;
  rssAnon: number;
  rssFile: number;
}

/** readProcStatus: parse /proc/<pid>/status; null when the process is gone or a zombie. */
export function readProcStatus(pid: number): ProcStatus | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string): number | null => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const name = /^Name:\s+(.*)$/m.exec(text)?.[1] ?? '?';
  const vmHwm = kb('VmHWM');
  if (vmHwm === null) return null; // zombie: the mm is gone
  return { name, vmHwm, vmRss: kb('VmRSS') ?? 0, rssAnon: kb('RssAnon') ?? 0, rssFile: kb('RssFile') ?? 0 };
}

/** descendants: pids of every live descendant of `pid` (children of all its threads). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let text = '';
      try {
        text = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of text.split(/\s+/)) {
        if (c) {
          out.push(Number(c));
          stack.push(Number(c));
        }
      }
    }
  }
  return out;
}

/** ProcessPeak: what the sampler saw of one process during active phases. */
export interface ProcessPeak {
  pid: number;
  name: string;
  peakRssAnonBytes: number;
  peakRssBytes: number;
  peakRssFileBytes: number;
  samples: number;
}

/**
 * TreeSampler: polls a process and its descendants every `intervalMs` while `active`.
 * Used by the parent on each child; the child flips `active` through IPC around its timed
 * step. Cheap: a few small /proc reads per tick.
 */
export class TreeSampler {
  readonly #root: number;
  readonly #peaks = new Map<number, ProcessPeak>();
  #timer: ReturnType<typeof setInterval> | undefined;
  active = false;

  constructor(rootPid: number, intervalMs = 50) {
    this.#root = rootPid;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** sample: take one sample now (also called on phase changes so short phases get one). */
  sample(): void {
    if (!this.active) return;
    for (const pid of [this.#root, ...descendants(this.#root)]) {
      const st = readProcStatus(pid);
      if (!st) continue;
      const prev = this.#peaks.get(pid);
      const next: ProcessPeak = prev ?? {
        pid,
        name: st.name,
        peakRssAnonBytes: 0,
        peakRssBytes: 0,
        peakRssFileBytes: 0,
        samples: 0,
      };
      next.name = st.name; // a fork becomes the exec'd program
      next.peakRssAnonBytes = Math.max(next.peakRssAnonBytes, st.rssAnon);
      next.peakRssBytes = Math.max(next.peakRssBytes, st.vmRss);
      next.peakRssFileBytes = Math.max(next.peakRssFileBytes, st.rssFile);
      next.samples++;
      this.#peaks.set(pid, next);
    }
  }

  /** stop: end sampling and return per-process peaks. */
  stop(): ProcessPeak[] {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.active = false;
    return [...this.#peaks.values()];
  }
}

/** CommandResult: a finished external command with its measured peak. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  usage: ExternalUsage;
}

/** hasGnuTime: whether /usr/bin/time exists (Debian package `time`). */
export function hasGnuTime(): boolean {
  return existsSync(GNU_TIME);
}

/**
 * runMeasured: run `command args` to completion, capturing output, and measure its peak
 * RSS with GNU time (`%M`, exact) or, without it, by polling VmHWM (lower bound).
 * `scratchDir` receives GNU time's output file. Rejects only when the program cannot be
 * started; a non-zero exit is returned in `code`.
 */
export async function runMeasured(
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; scratchDir: string; cwd?: string },
): Promise<CommandResult> {
  const useTime = hasGnuTime();
  const timeFile = path.join(opts.scratchDir, `.peak-${process.pid}-${Date.now()}.txt`);
  const argv = useTime ? ['-f', '%M %U %S', '-o', timeFile, '--', command, ...args] : [...args];
  const spawnOpts: SpawnOptions = { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] };
  const child = spawn(useTime ? GNU_TIME : command, argv, spawnOpts);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  let polled = 0;
  let poll: ReturnType<typeof setInterval> | undefined;
  if (!useTime) {
    poll = setInterval(() => {
      const st = child.pid ? readProcStatus(child.pid) : null;
      if (st) polled = Math.max(polled, st.vmHwm);
    }, 20);
  }
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  }).finally(() => {
    if (poll) clearInterval(poll);
  });
  let usage: ExternalUsage;
  if (useTime) {
    const text = await fsp.readFile(timeFile, 'utf8').catch(() => '');
    await fsp.rm(timeFile, { force: true });
    // With -o, GNU time writes only the format line ("%M %U %S": max RSS in KiB, user and
    // system seconds), preceded by "Command exited with non-zero status N" on failure.
    const lines = text.trim().split('\n');
    const [kb, user, sys] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
    usage = {
      command: path.basename(command),
      peakRssBytes: Number.isFinite(kb) ? (kb as number) * 1024 : 0,
      method: 'gnu-time',
      cpuMs: Number.isFinite(user) && Number.isFinite(sys) ? Math.round(((user as number) + (sys as number)) * 1000) : null,
    };
  } else {
    usage = { command: path.basename(command), peakRssBytes: polled, method: 'vmhwm-poll', cpuMs: null };
  }
  return { code, stdout, stderr, usage };
}
