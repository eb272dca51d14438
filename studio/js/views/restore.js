// restore: pick a destination and a restore point (chain and file, in time order), name
// the new database, give the key when the chain is encrypted, start, and follow it.
import { api, q } from '../api.js';
import { follow } from '../progress.js';
import { field, fmtBytes, fmtTime, h, uid } from '../ui.js';

export async function restoreView(db) {
  const destInput = h('input', { type: 'text', placeholder: '/var/backups/pagevault or s3://bucket/prefix?region=…', 'data-role': 'restore-destination' });
  const dest = field('Destination holding the backups', destInput, 'A folder on the server or a destination URL (credentials from the server\'s environment).');
  const points = h('div', { 'data-role': 'restore-points' });
  const nameInput = h('input', { type: 'text', value: `${db}-restored`, 'data-role': 'new-name' });
  const name = field('New database name', nameInput, 'A restore never writes over an existing database.');
  const keyInput = h('input', { type: 'password', class: 'key', autocomplete: 'off', 'data-role': 'restore-key' });
  const key = field('Encryption key (base64)', keyInput, 'The key the backup was made with.');
  key.hidden = true;
  const start = h('button', { type: 'submit', disabled: true, 'data-role': 'start-restore' }, 'Start restore');
  const error = h('p', { class: 'error', role: 'alert', 'data-role': 'form-error' });
  const live = h('div', { 'aria-live': 'polite', 'data-role': 'live' });
  let chains = [];
  let stop = () => {};
  const pointName = uid('point');

  const list = async () => {
    dest.setError('');
    points.replaceChildren();
    start.disabled = true;
    if (!destInput.value.trim()) return dest.setError('Enter a destination.');
    try {
      const r = await api('GET', `/backups?${q({ destination: destInput.value.trim(), database: db })}`);
      chains = r.chains.filter((c) => c.restorePoints);
      if (chains.length === 0) return points.replaceChildren(h('p', { class: 'hint' }, `No backups of ${db} there.`));
      // Restore points in time order, newest first; each is a chain and the file to restore up to.
      const rows = chains.flatMap((c) => c.restorePoints.map((p) => ({ c, p }))).sort((a, b) => b.p.created.localeCompare(a.p.created));
      points.replaceChildren(h('fieldset', {}, h('legend', {}, 'Restore point'),
        h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'Time'), h('th', {}, 'File'), h('th', {}, 'Chain'), h('th', {}, 'Size'))),
          h('tbody', {}, rows.map(({ c, p }, i) => {
            const id = uid('rp');
            return h('tr', {},
              h('td', {}, h('input', { type: 'radio', id, name: pointName, value: `${i}`, 'data-role': 'restore-point', onchange: () => {
                key.hidden = !c.encrypted;
                start.disabled = false;
              } })),
              h('td', {}, h('label', { for: id }, fmtTime(p.created))),
              h('td', {}, `${p.kind} (txn ${p.txnId})`),
              h('td', {}, `${c.folder}${c.encrypted ? ' (encrypted)' : ''}${c.manual ? ' (manual)' : ''}`),
              h('td', {}, fmtBytes(p.size)));
          })))));
      points.rows = rows;
    } catch (err) {
      dest.setError(`${err.code}: ${err.message}`);
    }
  };

  const form = h('form', {
    class: 'card',
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      name.setError('');
      const picked = form.querySelector(`input[name="${pointName}"]:checked`);
      if (!picked) return (error.textContent = 'Pick a restore point.');
      const { c, p } = points.rows[Number(picked.value)];
      if (c.encrypted && !keyInput.value.trim()) return key.setError('This backup is encrypted: enter its key.');
      start.disabled = true;
      try {
        const op = await api('POST', '/restore', {
          source: c.source,
          database: nameInput.value.trim(),
          upto: p.file,
          ...(c.encrypted ? { encryption: { mode: 'key', key: keyInput.value.trim() } } : {}),
        });
        stop = follow(op.id, live, (done) => {
          start.disabled = false;
          if (done.status === 'succeeded') live.append(h('p', {}, h('a', { href: `#/db/${encodeURIComponent(done.result.database)}` }, `Open ${done.result.database}`)));
        });
      } catch (err) {
        if (/already exists|database name/.test(err.message)) name.setError(err.message);
        else error.textContent = `${err.code}: ${err.message}`;
        start.disabled = false;
      }
    },
  },
  h('h1', {}, `Restore ${db} from a backup`),
  dest, h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: list, 'data-role': 'list-points' }, 'List restore points')),
  points, name, key, error,
  h('div', { class: 'actions' }, start, h('a', { class: 'button secondary', href: `#/db/${encodeURIComponent(db)}` }, 'Back')),
  live);
  form.cleanup = () => stop();
  return form;
}
