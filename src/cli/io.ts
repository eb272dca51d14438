/**
 * io: what a command may use to talk to the outside: stdout/stderr writers, JSON output
 * and a cancellation signal (aborted by SIGINT/SIGTERM). Commands take an Io instead of
 * touching `process` so tests can run them in-process.
 */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  json(value: unknown): void;
  stderr: NodeJS.WriteStream;
  signal: AbortSignal;
}
