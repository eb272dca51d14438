/**
 * run-node: run a fixture script in a child `node` process. `ready` resolves when the
 * child's first stdout line is `ready` (or at once with `waitForReady: false`, and in any
 * case when it exits); `done` resolves with its stdout lines on exit code 0 and rejects,
 * with its stderr, otherwise.
 */
import { spawn } from 'node:child_process';

export interface ChildRun {
  /** Resolves once the child printed `ready` (or immediately when not waiting for it). */
  ready: Promise<void>;
  /** Resolves with the child's stdout lines when it exits with code 0; rejects otherwise. */
  done: Promise<string[]>;
}

/** runNode: runs `script` with node and `args`. */
export function runNode(script: string, args: string[], waitForReady = true): ChildRun {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = waitForReady ? new Promise<void>((resolve) => (markReady = resolve)) : Promise.resolve();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.startsWith('ready\n')) markReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<string[]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      markReady();
      if (code === 0) resolve(stdout.trim().split('\n'));
      else reject(new Error(`${script} exited with ${code ?? signal}: ${stderr}`));
    });
  });
  return { ready, done };
}
