/**
 * output: how the CLI talks to people and scripts. Results go to stdout (human text, or
 * one JSON document with --json); progress and errors go to stderr, so `--json` output
 * stays parseable while a progress bar runs. The progress bar redraws in place on a
 * terminal and prints a plain line every few seconds otherwise (CI logs, pipes).
 */

/** formatBytes: 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n >= 100 ? 0 : 1)} ${units[i]}`;
}

/** formatCount: 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** formatDuration: seconds → "1m 05s" / "4.2s". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const sec = String(Math.floor(s % 60)).padStart(2, '0');
  return h > 0 ? `${h}h ${String(m % 60).padStart(2, '0')}m` : `${m}m ${sec}s`;
}

/** ProgressBar: `update(done)` as often as you like; it rate-limits its own drawing. */
export class ProgressBar {
  readonly #label: string;
  readonly #total: number;
  readonly #unit: string;
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #started = performance.now();
  #lastDraw = 0;
  #enabled: boolean;

  constructor(label: string, total: number, options: { unit?: string; enabled?: boolean; stream?: NodeJS.WriteStream } = {}) {
    this.#label = label;
    this.#total = total;
    this.#unit = options.unit ?? '';
    this.#stream = options.stream ?? process.stderr;
    this.#tty = this.#stream.isTTY === true;
    this.#enabled = options.enabled ?? true;
  }

  update(done: number, detail = ''): void {
    if (!this.#enabled) return;
    const t = performance.now();
    const interval = this.#tty ? 100 : 5000;
    if (t - this.#lastDraw < interval && done < this.#total) return;
    this.#lastDraw = t;
    const elapsed = (t - this.#started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const frac = this.#total > 0 ? Math.min(1, done / this.#total) : 1;
    const eta = rate > 0 ? (this.#total - done) / rate : Infinity;
    const text = `${this.#label} ${(frac * 100).toFixed(1).padStart(5)}% ${formatCount(done)}/${formatCount(this.#total)}${this.#unit} ${formatCount(rate)}${this.#unit}/s ETA ${formatDuration(eta)}${detail ? ` ${detail}` : ''}`;
    if (this.#tty) {
      const width = 24;
      const filled = Math.round(frac * width);
      this.#stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else {
      this.#stream.write(`${text}\n`);
    }
  }

  /** done: finish the line (terminal) so later output starts on its own line. */
  done(): void {
    if (this.#enabled && this.#tty) this.#stream.write('\n');
    this.#enabled = false;
  }
}
