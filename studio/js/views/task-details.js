// task-details: one task — status, destinations, last and next backups, retention, last
// error; backup now (full or incremental), refresh, edit, delete; live progress of a
// running backup; the history of runs and charts of size and duration over time.
import { api, q } from '../api.js';
import { follow, progressLine } from '../progress.js';
import { barChart, confirmDialog, fmtBytes, fmtDuration, fmtTime, h, statusBadge, toast } from '../ui.js';

const retentionText = (r) => (r.enabled ? `${Number((r.minimumAgeMs / 86_400_000).toFixed(2))} days` : 'off (keep everything)');
const lastText = (x) => (x ? `${fmtTime(x.at)} — ${x.chain}/${x.file}, txn ${x.txnId}, ${fmtDuration(x.durationMs)}${x.pinnedMs !== undefined ? `, snapshot pinned ${fmtDuration(x.pinnedMs)}` : ''}` : '-');

export async function taskDetailsView(id) {
  const root = h('section', { 'data-role': 'task-details' });
  const live = h('div', { 'data-role': 'live', 'aria-live': 'polite' });
  let stopFollow = () => {};
  let timer;

  const render = async () => {
    const [s, history] = await Promise.all([api('GET', `/tasks/${encodeURIComponent(id)}`), api('GET', `/operations?${q({ task: id, limit: 100 })}`)]);
    const t = s.task;
    const backupNow = (kind) => async () => {
      try {
        const op = await api('POST', `/tasks/${encodeURIComponent(t.id)}/backup`, { kind });
        toast(`${kind} backup ${op.status}`);
        watch(op.id);
      } catch (err) {
        toast(`${err.code}: ${err.message}`);
      }
    };
    const finished = history.filter((o) => o.status === 'succeeded' && o.result).reverse();
    root.replaceChildren(...[
      h('h1', {}, `Task ${t.name}`),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: backupNow('full'), 'data-role': 'backup-full' }, 'Backup now (full)'),
        h('button', { type: 'button', onclick: backupNow('incremental'), 'data-role': 'backup-incremental' }, 'Backup now (incremental)'),
        h('button', { type: 'button', class: 'secondary', onclick: () => render(), 'data-role': 'refresh' }, 'Refresh'),
        h('a', { class: 'button secondary', href: `#/tasks/${encodeURIComponent(t.id)}/edit` }, 'Edit'),
        h('button', { type: 'button', class: 'secondary', onclick: async () => {
          await api('POST', `/tasks/${encodeURIComponent(t.id)}/${t.enabled ? 'disable' : 'enable'}`, {});
          render();
        } }, t.enabled ? 'Disable' : 'Enable'),
        h('button', { type: 'button', class: 'danger', 'data-role': 'delete', onclick: async () => {
          if (!(await confirmDialog(`Delete task ${t.name}? Its backups stay on the destinations.`))) return;
          await api('DELETE', `/tasks/${encodeURIComponent(t.id)}`);
          toast(`Deleted task ${t.name}`);
          location.hash = `#/db/${encodeURIComponent(t.database)}`;
        } }, 'Delete')),
      h('div', { class: 'card' }, h('dl', { class: 'grid' },
        h('dt', {}, 'Status'), h('dd', { 'data-role': 'status' }, statusBadge(s.status), s.delayedUntil ? ` delayed until ${fmtTime(s.delayedUntil)}` : ''),
        h('dt', {}, 'Database'), h('dd', {}, h('a', { href: `#/db/${encodeURIComponent(t.database)}` }, t.database), ` (${t.type === 'backup' ? 'Backup: JSON' : 'Snapshot: pages'})`),
        h('dt', {}, 'Schedule'), h('dd', {}, `full: ${t.fullCron ?? '-'}; incremental: ${t.incrementalCron ?? '-'} (${t.timeZone})`),
        h('dt', {}, 'Destinations'), h('dd', {}, h('ul', { class: 'runs' }, s.destinations.map((d) => h('li', {}, d)))),
        h('dt', {}, 'Encryption'), h('dd', {}, t.encryption.mode === 'key' ? 'AES-256-GCM with the task\'s key' : 'none'),
        h('dt', {}, 'Last full'), h('dd', { 'data-role': 'last-full' }, lastText(s.lastFull)),
        h('dt', {}, 'Last incremental'), h('dd', { 'data-role': 'last-incremental' }, lastText(s.lastIncremental)),
        h('dt', {}, 'Next estimated backup'), h('dd', {}, s.nextBackup ? `${s.nextBackup.kind} at ${fmtTime(s.nextBackup.at)}` : '-'),
        h('dt', {}, 'Retention'), h('dd', {}, retentionText(t.retention)),
        h('dt', {}, 'Last error'), h('dd', { class: 'bad', 'data-role': 'last-error' }, s.lastError ? `${fmtTime(s.lastError.at)} ${s.lastError.code}: ${s.lastError.message}` : '-'))),
      h('h2', {}, 'Running'), live,
      h('h2', {}, 'History'),
      history.length === 0 ? h('p', { class: 'hint' }, 'No runs yet.') : h('table', { 'data-role': 'history' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Started'), h('th', {}, 'Kind'), h('th', {}, 'Trigger'), h('th', {}, 'Result'), h('th', {}, 'Duration'), h('th', {}, 'Size'), h('th', {}, 'File'))),
        h('tbody', {}, history.map((o) => h('tr', { 'data-status': o.status },
          h('td', {}, fmtTime(o.startedAt ?? o.queuedAt)),
          h('td', {}, o.result?.fileKind ?? o.kind),
          h('td', {}, o.trigger),
          h('td', {}, statusBadge(o.status), o.error ? h('div', { class: 'bad' }, `${o.error.code}: ${o.error.message}`) : null, o.result?.fullReason ? h('div', { class: 'hint' }, `full because ${o.result.fullReason}`) : null),
          h('td', {}, fmtDuration(o.durationMs)),
          h('td', {}, fmtBytes(o.result?.bytesWritten)),
          h('td', {}, o.result ? `${o.result.chain}/${o.result.file}` : '-'))))),
      finished.length ? h('div', { class: 'charts' },
        barChart('Backup size', finished.map((o) => ({ label: fmtTime(o.startedAt), value: o.result.bytesWritten })), fmtBytes),
        barChart('Backup duration', finished.map((o) => ({ label: fmtTime(o.startedAt), value: o.durationMs ?? 0 })), fmtDuration)) : null,
    ].filter(Boolean));
    const running = s.running ?? s.queued[0];
    if (running) watch(running.id);
    else live.replaceChildren(h('p', { class: 'hint' }, 'Nothing running.'));
  };

  const watch = (opId) => {
    stopFollow();
    stopFollow = follow(opId, live, (op) => {
      live.replaceChildren(progressLine(op));
      clearTimeout(timer);
      timer = setTimeout(render, 300);
    });
  };

  await render();
  root.cleanup = () => {
    stopFollow();
    clearTimeout(timer);
  };
  return root;
}
