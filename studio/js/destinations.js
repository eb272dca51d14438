// destinations: one editor row per destination — a kind and its fields, built into the
// destination URL the server understands, with a "Test connection" button. Credentials are
// never entered here: the server reads them from its environment (see the README).
import { api } from './api.js';
import { field, h, uid } from './ui.js';

const KINDS = {
  local: { label: 'Local folder', fields: [['path', 'Folder on the server', '/var/backups/pagevault']] },
  s3: {
    label: 'Amazon S3 or S3-compatible',
    fields: [['bucket', 'Bucket', 'my-backups'], ['prefix', 'Folder (prefix)', 'orders'], ['region', 'Region', 'eu-west-1'], ['endpoint', 'Custom host (S3-compatible)', 'https://minio.local:9000']],
    checks: [['forcePathStyle', 'Force path style']],
    select: ['storageClass', 'Storage class', ['', 'STANDARD_IA', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE']],
  },
  azure: { label: 'Azure Blob Storage', fields: [['account', 'Storage account', 'myaccount'], ['container', 'Container', 'backups'], ['prefix', 'Folder (prefix)', 'orders'], ['endpoint', 'Custom endpoint', 'http://127.0.0.1:10000/myaccount']] },
  gs: { label: 'Google Cloud Storage', fields: [['bucket', 'Bucket', 'my-backups'], ['prefix', 'Folder (prefix)', 'orders']] },
  ftp: { label: 'FTP / FTPS', fields: [['host', 'Host', 'ftp.example.com'], ['port', 'Port', '21'], ['user', 'User', 'backup'], ['path', 'Folder', '/pagevault']], checks: [['tls', 'Use TLS (FTPS)']] },
  sftp: { label: 'SFTP', fields: [['host', 'Host', 'sftp.example.com'], ['port', 'Port', '22'], ['user', 'User', 'backup'], ['path', 'Folder', '/pagevault']] },
};

const CREDENTIALS = {
  local: '',
  s3: 'Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the server\'s environment.',
  azure: 'Credentials: AZURE_STORAGE_KEY or AZURE_STORAGE_SAS in the server\'s environment.',
  gs: 'Credentials: GCS_HMAC_ACCESS_KEY_ID and GCS_HMAC_SECRET (HMAC keys) in the server\'s environment.',
  ftp: 'Password: FTP_PASSWORD in the server\'s environment.',
  sftp: 'Password or key: SFTP_PASSWORD or SFTP_PRIVATE_KEY_PATH in the server\'s environment.',
};

const trimSlashes = (s) => (s ?? '').replace(/^\/+|\/+$/g, '');

/** toUrl: the destination string of a row's values. */
export function toUrl(kind, v) {
  const qs = (o) => {
    const s = new URLSearchParams();
    for (const [k, val] of Object.entries(o)) if (val) s.set(k, val === true ? 'true' : val);
    const t = s.toString();
    return t ? `?${t}` : '';
  };
  const path = (p) => (trimSlashes(p) ? `/${trimSlashes(p)}` : '');
  switch (kind) {
    case 'local': return (v.path ?? '').trim();
    case 's3': return v.bucket ? `s3://${v.bucket.trim()}${path(v.prefix)}${qs({ region: v.region, endpoint: v.endpoint, forcePathStyle: v.forcePathStyle, storageClass: v.storageClass })}` : '';
    case 'gs': return v.bucket ? `gs://${v.bucket.trim()}${path(v.prefix)}` : '';
    case 'azure': return v.account && v.container ? `azure://${v.account.trim()}/${trimSlashes(v.container)}${path(v.prefix)}${qs({ endpoint: v.endpoint })}` : '';
    case 'ftp': return v.host ? `${v.tls ? 'ftps' : 'ftp'}://${v.user ? `${encodeURIComponent(v.user)}@` : ''}${v.host.trim()}${v.port ? `:${v.port}` : ''}${path(v.path)}` : '';
    case 'sftp': return v.host ? `sftp://${v.user ? `${encodeURIComponent(v.user)}@` : ''}${v.host.trim()}${v.port ? `:${v.port}` : ''}${path(v.path)}` : '';
    default: return '';
  }
}

/** fromUrl: the kind and values of an existing destination string (for editing). */
export function fromUrl(dest) {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(dest);
  if (!m || m[1] === 'file') return { kind: 'local', values: { path: m ? decodeURIComponent(new URL(dest).pathname) : dest } };
  const u = new URL(dest);
  const scheme = m[1].toLowerCase();
  const parts = trimSlashes(decodeURIComponent(u.pathname)).split('/').filter(Boolean);
  const p = Object.fromEntries(u.searchParams);
  if (scheme === 's3') return { kind: 's3', values: { bucket: u.hostname, prefix: parts.join('/'), region: p.region, endpoint: p.endpoint, forcePathStyle: p.forcePathStyle === 'true', storageClass: p.storageClass } };
  if (scheme === 'gs') return { kind: 'gs', values: { bucket: u.hostname, prefix: parts.join('/') } };
  if (scheme === 'azure') return { kind: 'azure', values: { account: u.hostname, container: parts[0], prefix: parts.slice(1).join('/'), endpoint: p.endpoint } };
  if (scheme === 'ftp' || scheme === 'ftps') return { kind: 'ftp', values: { host: u.hostname, port: u.port, user: decodeURIComponent(u.username), path: parts.join('/'), tls: scheme === 'ftps' } };
  return { kind: 'sftp', values: { host: u.hostname, port: u.port, user: decodeURIComponent(u.username), path: parts.join('/') } };
}

/** destinationRow: an editor for one destination; `.url()` gives its URL, `.setError(msg)` shows an error by it. */
export function destinationRow(initial, onRemove) {
  const start = initial ? fromUrl(initial) : { kind: 'local', values: {} };
  const kindSelect = h('select', { id: uid('kind'), 'data-role': 'dest-kind' }, Object.entries(KINDS).map(([k, d]) => h('option', { value: k, selected: k === start.kind }, d.label)));
  const fieldsBox = h('div', { class: 'fields' });
  const credHint = h('p', { class: 'hint' });
  const result = h('p', { class: 'error', role: 'alert', 'data-role': 'dest-error' });
  const okLine = h('p', { class: 'ok', role: 'status', 'data-role': 'dest-ok' });
  let inputs = {};
  const render = (values) => {
    const kind = kindSelect.value;
    const d = KINDS[kind];
    inputs = {};
    fieldsBox.replaceChildren();
    for (const [name, label, placeholder] of d.fields) {
      const input = h('input', { type: 'text', value: values[name] ?? '', placeholder, 'data-field': name });
      inputs[name] = input;
      fieldsBox.append(field(label, input));
    }
    for (const [name, label] of d.checks ?? []) {
      const input = h('input', { type: 'checkbox', checked: !!values[name], 'data-field': name });
      inputs[name] = input;
      fieldsBox.append(h('label', { class: 'inline' }, input, label));
    }
    if (d.select) {
      const [name, label, options] = d.select;
      const input = h('select', { 'data-field': name }, options.map((o) => h('option', { value: o, selected: o === (values[name] ?? '') }, o || 'default (STANDARD)')));
      inputs[name] = input;
      fieldsBox.append(field(label, input));
    }
    credHint.textContent = CREDENTIALS[kind];
  };
  kindSelect.addEventListener('change', () => {
    render({});
    row.setError('');
  });
  const values = () => Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.type === 'checkbox' ? i.checked : i.value.trim()]));
  const testButton = h('button', {
    type: 'button',
    class: 'secondary',
    'data-role': 'test-connection',
    onclick: async () => {
      row.setError('');
      okLine.textContent = '';
      const url = row.url();
      if (!url) return row.setError('Fill in the destination first.');
      testButton.disabled = true;
      testButton.textContent = 'Testing…';
      try {
        const r = await api('POST', '/destinations/test', { destination: url });
        if (r.ok) okLine.textContent = `Connection works (wrote, read and removed a test object in ${Math.round(r.ms)} ms).`;
        else row.setError(`Test failed at ${r.step}: ${r.error.code}: ${r.error.message}`);
      } catch (err) {
        row.setError(`${err.code}: ${err.message}`);
      } finally {
        testButton.disabled = false;
        testButton.textContent = 'Test connection';
      }
    },
  }, 'Test connection');
  const row = h('fieldset', { class: 'dest', 'data-role': 'destination' },
    h('legend', {}, 'Destination'),
    field('Kind', kindSelect),
    fieldsBox,
    credHint,
    h('div', { class: 'actions' }, testButton, onRemove ? h('button', { type: 'button', class: 'secondary', onclick: () => onRemove(row) }, 'Remove') : null),
    okLine,
    result);
  row.url = () => toUrl(kindSelect.value, values());
  row.setError = (msg) => {
    result.textContent = msg ?? '';
    if (msg) okLine.textContent = '';
  };
  render(start.values);
  return row;
}
