// progress: live progress of a running operation (polled from GET /operations/:id):
// a progress bar, bytes, rate, ETA, and bytes per destination; then the result.
import { api } from './api.js';
import { fmtBytes, fmtDuration, h, statusBadge } from './ui.js';

/** progressLine: what a running (or finished) operation record shows. */
export function progressLine(op) {
  const p = op.progress;
  const parts = [statusBadge(op.status)];
  if (op.status === 'queued') parts.push(h('span', {}, ` waiting behind operation ${op.queuedBehind ?? ''}`));
  if (op.isRunning && p) {
    const secs = p.elapsedMs / 1000;
    const rate = secs > 0 ? p.bytesOut / secs : 0;
    const unitRate = secs > 0 ? p.done / secs : 0;
    const eta = unitRate > 0 && p.total > p.done ? ((p.total - p.done) / unitRate) * 1000 : undefined;
    parts.push(
      h('progress', { max: String(Math.max(1, p.total)), value: String(Math.min(p.done, p.total || p.done)), 'aria-label': 'Progress' }),
      h('span', { 'data-role': 'progress-text' }, ` ${p.done.toLocaleString()} / ${p.total.toLocaleString()} ${p.unit}, ${fmtBytes(p.bytesIn)} read, ${fmtBytes(p.bytesOut)} written, ${fmtBytes(rate)}/s, ETA ${eta !== undefined ? fmtDuration(eta) : '-'}`),
    );
    if (p.destinations?.length) parts.push(h('ul', { class: 'runs' }, p.destinations.map((d) => h('li', {}, `${d.destination}: ${fmtBytes(d.bytes)}`))));
  }
  if (!op.isRunning && op.status !== 'queued') {
    if (op.result && 'bytesWritten' in op.result) parts.push(h('span', {}, ` ${op.result.fileKind}, ${fmtBytes(op.result.bytesWritten)} in ${fmtDuration(op.durationMs)}`));
    if (op.result && 'path' in op.result) parts.push(h('span', {}, ` database ${op.result.database} restored (${op.result.files} file(s)) in ${fmtDuration(op.durationMs)}`));
    if (op.error) parts.push(h('span', { class: 'bad' }, ` ${op.error.code}: ${op.error.message}`));
  }
  return h('div', { class: 'progress', 'data-role': 'operation', 'data-status': op.status }, parts);
}

/**
 * follow: poll operation `id` every `ms`, rendering into `box`, until it ends; then call
 * `onEnd(op)`. Returns a stop function (for when the view goes away).
 */
export function follow(id, box, onEnd, ms = 500) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      const op = await api('GET', `/operations/${encodeURIComponent(id)}`);
      box.replaceChildren(progressLine(op));
      if (op.status !== 'queued' && op.status !== 'running') return onEnd?.(op);
    } catch (err) {
      box.replaceChildren(h('p', { class: 'error', role: 'alert' }, `${err.code}: ${err.message}`));
    }
    setTimeout(tick, ms);
  };
  tick();
  return () => (stopped = true);
}
