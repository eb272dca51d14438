// manual: a one-time backup of a database — type, encryption, one destination, "Backup now",
// then its progress until it ends. Manual backups have no name and no retention.
import { api } from '../api.js';
import { destinationRow } from '../destinations.js';
import { keyBlock } from '../keygen.js';
import { follow } from '../progress.js';
import { h, uid } from '../ui.js';

export async function manualBackupView(db) {
  const typeName = uid('mtype');
  const type = (value, label, hint, checked) => {
    const id = uid('mtype');
    return h('div', { class: 'choice' }, h('label', { class: 'inline', for: id }, h('input', { type: 'radio', id, name: typeName, value, checked, 'data-role': `type-${value}` }), label), h('p', { class: 'hint' }, hint));
  };
  const encOn = h('input', { type: 'checkbox', 'data-role': 'encrypt' });
  const keyHolder = h('div', {});
  let keys;
  const start = h('button', { type: 'submit', 'data-role': 'backup-now' }, 'Backup now');
  const update = () => {
    start.disabled = encOn.checked && keys !== undefined && !keys.saved();
  };
  encOn.addEventListener('change', () => {
    keyHolder.replaceChildren();
    keys = encOn.checked ? keyBlock(update) : undefined;
    if (keys) keyHolder.append(keys);
    update();
  });
  const dest = destinationRow(undefined);
  const error = h('p', { class: 'error', role: 'alert', 'data-role': 'form-error' });
  const live = h('div', { 'aria-live': 'polite', 'data-role': 'live' });
  let stop = () => {};
  const form = h('form', {
    class: 'card',
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      dest.setError('');
      const url = dest.url();
      if (!url) return dest.setError('Fill in the destination.');
      start.disabled = true;
      try {
        const op = await api('POST', `/databases/${encodeURIComponent(db)}/backup`, {
          type: form.querySelector(`input[name="${typeName}"]:checked`).value,
          destinations: [url],
          ...(encOn.checked ? { encryption: { mode: 'key', key: keys.key() } } : {}),
        });
        stop = follow(op.id, live, () => update());
      } catch (err) {
        if (/destination/.test(err.message)) dest.setError(err.message);
        else error.textContent = `${err.code}: ${err.message}`;
        update();
      }
    },
  },
  h('h1', {}, `Manual backup of ${db}`),
  h('p', { class: 'hint' }, 'A one-time backup: a new chain of its own, never removed by retention.'),
  h('fieldset', {}, h('legend', {}, 'Type'),
    type('snapshot', 'Snapshot', 'The pages as they are: fastest to take and restore, indexes included.', true),
    type('backup', 'Backup', 'JSON documents, index definitions and identities: smaller; restore rebuilds indexes.', false)),
  h('h2', {}, 'Encryption'), h('label', { class: 'inline' }, encOn, 'Encrypt this backup (AES-256-GCM)'), keyHolder,
  h('h2', {}, 'Destination'), dest,
  error,
  h('div', { class: 'actions' }, start, h('a', { class: 'button secondary', href: `#/db/${encodeURIComponent(db)}` }, 'Back')),
  live);
  form.cleanup = () => stop();
  return form;
}
