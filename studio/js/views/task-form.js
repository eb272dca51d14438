// task-form: create or edit a periodic backup task. The server validates; its error is
// shown next to the field it is about (cron, time zone, destinations, retention).
import { api, q } from '../api.js';
import { destinationRow } from '../destinations.js';
import { keyBlock } from '../keygen.js';
import { field, h, toast, uid } from '../ui.js';

const TYPES = [
  ['snapshot', 'Snapshot', 'The database\'s pages as they are: fastest to take and to restore, indexes included; the largest.'],
  ['backup', 'Backup', 'A JSON export of documents, index definitions and identities: smaller and portable; restore rebuilds the indexes, so it takes longer.'],
];

export async function taskFormView({ database, taskId }) {
  const existing = taskId ? (await api('GET', `/tasks/${encodeURIComponent(taskId)}`)).task : undefined;
  const db = existing?.database ?? database;
  const t = existing ?? { type: 'snapshot', timeZone: 'UTC', retention: { enabled: false, minimumAgeMs: 0 }, encryption: { mode: 'none' }, destinations: [] };

  const name = field('Name (optional)', h('input', { type: 'text', value: existing?.name ?? '', 'data-role': 'name' }), 'Left empty, a name is made from the database, type and destination.');
  const typeName = uid('type');
  const typeChoices = h('fieldset', { class: 'types' }, h('legend', {}, 'Type'),
    TYPES.map(([value, label, hint]) => {
      const id = uid('type');
      return h('div', { class: 'choice' },
        h('label', { class: 'inline', for: id }, h('input', { type: 'radio', id, name: typeName, value, checked: t.type === value, 'data-role': `type-${value}` }), label),
        h('p', { class: 'hint' }, hint));
    }));
  const fullCron = field('Full backup schedule (cron)', h('input', { type: 'text', value: t.fullCron ?? '', placeholder: '0 2 * * 0', 'data-role': 'full-cron' }), 'minute hour day month weekday; e.g. 0 2 * * 0 = Sundays at 02:00. Empty: no full schedule.');
  const incrCron = field('Incremental backup schedule (cron)', h('input', { type: 'text', value: t.incrementalCron ?? '', placeholder: '0 * * * *', 'data-role': 'incremental-cron' }), 'e.g. 0 * * * * = every hour. With only this schedule, the first run is a full.');
  const zones = h('datalist', { id: uid('zones') }, (Intl.supportedValuesOf?.('timeZone') ?? ['UTC']).map((z) => h('option', { value: z })));
  const tzInput = h('input', { type: 'text', value: t.timeZone ?? 'UTC', list: zones.id, 'data-role': 'time-zone' });
  const tz = field('Time zone', tzInput, 'The schedules are read in this zone.');
  const preview = h('div', { 'aria-live': 'polite', 'data-role': 'preview' });

  const retentionOn = h('input', { type: 'checkbox', checked: t.retention.enabled, 'data-role': 'retention-on' });
  const days = t.retention.enabled ? t.retention.minimumAgeMs / 86_400_000 : 7;
  const retentionDays = h('input', { type: 'number', min: '0.05', step: 'any', value: String(Number(days.toFixed(3))), 'data-role': 'retention-days' });
  const retention = field('Retention period (days)', retentionDays, 'Whole chains whose newest file is older than this are removed from every destination after each scheduled backup; the newest complete chain always stays; manual backups are never removed.');

  const encOn = h('input', { type: 'checkbox', checked: t.encryption.mode === 'key', 'data-role': 'encrypt' });
  const keyHolder = h('div', {});
  let keys;
  const save = h('button', { type: 'submit', 'data-role': 'save' }, existing ? 'Save changes' : 'Create task');
  const updateSave = () => {
    save.disabled = encOn.checked && keys !== undefined && !keys.saved();
    save.title = save.disabled ? 'Tick "I have saved this key" first' : '';
  };
  const replaceKey = h('button', { type: 'button', class: 'secondary', onclick: () => showKey(true) }, 'Use a new key');
  const showKey = (fresh) => {
    keyHolder.replaceChildren();
    keys = undefined;
    if (!encOn.checked) return updateSave();
    if (existing?.encryption.mode === 'key' && !fresh) {
      keyHolder.append(h('p', { class: 'hint' }, `Encrypted with the server's key file ${existing.encryption.keyFile ?? `(environment ${existing.encryption.keyEnv})`}. `), replaceKey);
    } else {
      keys = keyBlock(updateSave);
      keyHolder.append(keys);
    }
    updateSave();
  };
  encOn.addEventListener('change', () => showKey(false));

  const destBox = h('div', { 'data-role': 'destinations' });
  const destError = h('p', { class: 'error', role: 'alert', 'data-role': 'destinations-error' });
  const rows = [];
  const addRow = (url) => {
    const row = destinationRow(url, (r) => {
      rows.splice(rows.indexOf(r), 1);
      r.remove();
    });
    rows.push(row);
    destBox.append(row);
  };
  destBox.addEventListener('input', () => (destError.textContent = ''));
  for (const d of t.destinations) addRow(d);
  if (rows.length === 0) addRow();

  const formError = h('p', { class: 'error', role: 'alert', 'data-role': 'form-error' });
  let previewTimer;
  const refreshPreview = () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(async () => {
      fullCron.setError('');
      incrCron.setError('');
      tz.setError('');
      const f = fullCron.input.value.trim();
      const i = incrCron.input.value.trim();
      if (!f && !i) return preview.replaceChildren(h('p', { class: 'hint' }, 'No schedule yet.'));
      try {
        const r = await api('GET', `/schedule/preview?${q({ fullCron: f, incrementalCron: i, timeZone: tzInput.value.trim() || 'UTC', count: 5, hasFullYet: existing ? 'true' : 'false' })}`);
        preview.replaceChildren(h('p', { class: 'hint' }, `Next runs (${r.timeZone}):`), h('ul', { class: 'runs' }, r.runs.map((x) => h('li', {}, `${x.local} — ${x.kind}`))));
      } catch (err) {
        preview.replaceChildren();
        placeError(err);
      }
    }, 250);
  };
  for (const inp of [fullCron.input, incrCron.input, tzInput]) inp.addEventListener('input', refreshPreview);

  /** placeError: the server's message next to the field it is about. */
  const placeError = (err) => {
    const m = err.message;
    if (/full cron|needs a full schedule/.test(m)) fullCron.setError(m);
    else if (/incremental cron|JSON incremental/.test(m)) incrCron.setError(m);
    else if (/time zone/.test(m)) tz.setError(m);
    else if (/destination/.test(m)) destError.textContent = m;
    else if (/retention/.test(m)) retention.setError(m);
    else formError.textContent = `${err.code}: ${m}`;
  };

  const form = h('form', {
    class: 'card',
    'aria-labelledby': 'task-form-title',
    onsubmit: async (e) => {
      e.preventDefault();
      for (const f of [name, fullCron, incrCron, tz, retention]) f.setError('');
      destError.textContent = '';
      formError.textContent = '';
      const destinations = rows.map((r) => r.url()).filter(Boolean);
      if (destinations.length === 0) {
        destError.textContent = 'Add at least one destination.';
        return;
      }
      const body = {
        name: name.input.value.trim() || (existing ? null : undefined),
        type: form.querySelector(`input[name="${typeName}"]:checked`).value,
        fullCron: fullCron.input.value.trim() || null,
        incrementalCron: incrCron.input.value.trim() || null,
        timeZone: tzInput.value.trim() || 'UTC',
        retention: retentionOn.checked ? { enabled: true, minimumAgeMs: Math.round(Number(retentionDays.value) * 86_400_000) } : { enabled: false, minimumAgeMs: 0 },
        destinations,
      };
      if (!existing) body.database = db;
      if (!encOn.checked) body.encryption = { mode: 'none' };
      else if (keys) body.encryption = { mode: 'key', key: keys.key() };
      save.disabled = true;
      try {
        const saved = existing ? await api('PUT', `/tasks/${encodeURIComponent(existing.id)}`, body) : await api('POST', '/tasks', body);
        toast(`Saved task ${saved.name}`);
        location.hash = `#/tasks/${encodeURIComponent(saved.id)}`;
      } catch (err) {
        placeError(err);
      } finally {
        updateSave();
      }
    },
  },
  h('h1', { id: 'task-form-title' }, existing ? `Edit task ${existing.name}` : `New periodic backup of ${db}`),
  name, typeChoices, zones,
  h('h2', {}, 'Schedule'), fullCron, incrCron, tz, preview,
  h('h2', {}, 'Retention'), h('label', { class: 'inline' }, retentionOn, 'Remove old backups'), retention,
  h('h2', {}, 'Encryption'), h('label', { class: 'inline' }, encOn, 'Encrypt backups (AES-256-GCM)'), keyHolder,
  h('h2', {}, 'Destinations'), destBox, destError,
  h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => addRow() }, 'Add a destination')),
  formError,
  h('div', { class: 'actions' }, save, h('a', { class: 'button secondary', href: existing ? `#/tasks/${encodeURIComponent(existing.id)}` : `#/db/${encodeURIComponent(db)}` }, 'Cancel')));
  showKey(false);
  refreshPreview();
  return form;
}
