// lists: the databases, a database's Backups view (its periodic tasks and one-time
// backups), and the server-wide task list.
import { api, q } from '../api.js';
import { fmtBytes, fmtDuration, fmtTime, h, statusBadge } from '../ui.js';

export async function databasesView() {
  const dbs = await api('GET', '/databases');
  return h('section', {},
    h('h1', {}, 'Databases'),
    dbs.length === 0 ? h('p', {}, 'This server hosts no databases yet (DIR/databases/<name>/).') : h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Database'), h('th', {}, 'Size'), h('th', {}, 'Last transaction'), h('th', {}, 'Named databases'))),
      h('tbody', {}, dbs.map((d) => h('tr', {},
        h('td', {}, h('a', { href: `#/db/${encodeURIComponent(d.name)}` }, d.name)),
        h('td', {}, fmtBytes(d.sizeBytes)),
        h('td', {}, d.lastTxnId ?? '-'),
        h('td', {}, d.encrypted ? 'encrypted' : d.namedDatabases ?? '-'))))));
}

/** taskTable: tasks with status, schedule, last and next backups. */
export function taskTable(tasks, withDatabase) {
  if (tasks.length === 0) return h('p', { class: 'hint' }, 'No periodic tasks yet.');
  return h('table', { 'data-role': 'tasks' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Task'), withDatabase ? h('th', {}, 'Database') : null, h('th', {}, 'Type'), h('th', {}, 'Status'), h('th', {}, 'Next backup'), h('th', {}, 'Last full'), h('th', {}, 'Last incremental'), h('th', {}, 'Last error'))),
    h('tbody', {}, tasks.map((s) => h('tr', {},
      h('td', {}, h('a', { href: `#/tasks/${encodeURIComponent(s.task.id)}` }, s.task.name)),
      withDatabase ? h('td', {}, h('a', { href: `#/db/${encodeURIComponent(s.task.database)}` }, s.task.database)) : null,
      h('td', {}, s.task.type === 'backup' ? 'Backup' : 'Snapshot'),
      h('td', {}, statusBadge(s.status)),
      h('td', {}, s.nextBackup ? `${s.nextBackup.kind}, ${fmtTime(s.nextBackup.at)}` : '-'),
      h('td', {}, fmtTime(s.lastFull?.at)),
      h('td', {}, fmtTime(s.lastIncremental?.at)),
      h('td', { class: 'bad' }, s.lastError ? `${s.lastError.code}` : '')))));
}

export async function backupsView(db) {
  const [tasks, ops] = await Promise.all([api('GET', '/tasks'), api('GET', `/operations?${q({ database: db, limit: 200 })}`)]);
  const mine = tasks.filter((s) => s.task.database === db);
  const oneTime = ops.filter((o) => o.trigger === 'one-time');
  const enc = encodeURIComponent(db);
  return h('section', {},
    h('h1', {}, `Backups of ${db}`),
    h('div', { class: 'actions' },
      h('a', { class: 'button', href: `#/db/${enc}/tasks/new` }, 'Create a periodic backup'),
      h('a', { class: 'button secondary', href: `#/db/${enc}/manual` }, 'Create a manual backup'),
      h('a', { class: 'button secondary', href: `#/db/${enc}/restore` }, 'Restore a database from a backup'),
      h('a', { class: 'button secondary', href: '#/tasks' }, 'Server-wide tasks')),
    h('h2', {}, 'Periodic backups'),
    taskTable(mine, false),
    h('h2', {}, 'One-time backups'),
    oneTime.length === 0 ? h('p', { class: 'hint' }, 'None yet.') : h('table', { 'data-role': 'one-time' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Started'), h('th', {}, 'Type'), h('th', {}, 'Status'), h('th', {}, 'Duration'), h('th', {}, 'Size'), h('th', {}, 'Where'))),
      h('tbody', {}, oneTime.map((o) => h('tr', {},
        h('td', {}, fmtTime(o.startedAt ?? o.queuedAt)),
        h('td', {}, `${o.kind} ${o.backupType}`),
        h('td', {}, statusBadge(o.status), o.error ? h('span', { class: 'bad' }, ` ${o.error.code}`) : null),
        h('td', {}, fmtDuration(o.durationMs)),
        h('td', {}, fmtBytes(o.result?.bytesWritten)),
        h('td', {}, o.result ? `${o.result.destinations.map((d) => d.destination).join(', ')} / ${o.result.chain}` : '-'))))));
}

export async function serverTasksView() {
  const tasks = await api('GET', '/tasks');
  return h('section', {}, h('h1', {}, 'Server-wide tasks'), h('p', { class: 'hint' }, 'Every database\'s periodic backup tasks on this server.'), taskTable(tasks, true));
}
