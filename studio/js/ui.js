// ui: a tiny element builder and the formatters every view uses.

/** h: create an element. attrs: properties (on*, class, for, aria-*, data-*, hidden…); children: nodes or strings. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'for') el.htmlFor = v;
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

let ids = 0;
/** uid: a unique id for label/field pairs. */
export const uid = (p = 'f') => `${p}-${++ids}`;

/** field: a labelled input with a hint and an error slot (aria-describedby ties them). */
export function field(label, input, hint) {
  const id = input.id || (input.id = uid());
  const err = h('p', { class: 'error', id: `${id}-error`, role: 'alert' });
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  input.setAttribute('aria-describedby', [hintEl ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl, err);
  wrap.setError = (msg) => {
    err.textContent = msg ?? '';
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };
  wrap.input = input;
  return wrap;
}

export function toast(message) {
  const t = h('div', {}, message);
  document.getElementById('toast').append(t);
  setTimeout(() => t.remove(), 5000);
}

export const fmtBytes = (n) => {
  if (n === undefined || n === null) return '-';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
};
export const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '-');
export const fmtDuration = (ms) => {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
};
export const statusBadge = (s) => h('span', { class: `status ${s}` }, s);

/** confirmDialog: a modal asking `question`; resolves true when confirmed. */
export function confirmDialog(question, confirmLabel = 'Delete') {
  return new Promise((resolve) => {
    const dlg = h('dialog', { 'aria-labelledby': 'confirm-title' },
      h('p', { id: 'confirm-title' }, question),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'danger', onclick: () => { dlg.close(); resolve(true); } }, confirmLabel),
        h('button', { type: 'button', class: 'secondary', onclick: () => { dlg.close(); resolve(false); } }, 'Cancel')));
    dlg.addEventListener('close', () => { dlg.remove(); resolve(false); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** barChart: an SVG bar chart of `points` ({ label, value }) with `format` for the values. */
export function barChart(title, points, format) {
  const W = 420, H = 150, pad = 28;
  const max = Math.max(1, ...points.map((p) => p.value));
  const bw = points.length ? (W - pad) / points.length : 0;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', W);
  svg.setAttribute('height', H);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${title}: ${points.map((p) => `${p.label} ${format(p.value)}`).join(', ')}`);
  points.forEach((p, i) => {
    const bh = Math.max(1, ((H - pad) * p.value) / max);
    const r = document.createElementNS(svg.namespaceURI, 'rect');
    r.setAttribute('class', 'bar');
    r.setAttribute('x', pad + i * bw + 1);
    r.setAttribute('y', H - 16 - bh);
    r.setAttribute('width', Math.max(1, bw - 2));
    r.setAttribute('height', bh);
    const t = document.createElementNS(svg.namespaceURI, 'title');
    t.textContent = `${p.label}: ${format(p.value)}`;
    r.append(t);
    svg.append(r);
  });
  const label = (x, y, text) => {
    const t = document.createElementNS(svg.namespaceURI, 'text');
    t.setAttribute('x', x);
    t.setAttribute('y', y);
    t.textContent = text;
    svg.append(t);
  };
  label(0, 12, format(max));
  label(0, H - 2, points.length ? `${points[0].label} … ${points.at(-1).label}` : 'no runs yet');
  return h('figure', { class: 'chart' }, h('figcaption', {}, title), svg);
}
