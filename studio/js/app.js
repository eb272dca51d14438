// app: the Studio's router. Each route renders one view into <main>; views use the HTTP
// API only (api.js). Routes:
//   #/login                 enter the API key
//   #/                      databases
//   #/db/NAME               the Backups view of a database
//   #/db/NAME/tasks/new     create a periodic task        #/tasks/ID/edit  edit it
//   #/tasks/ID              task details                  #/tasks          server-wide tasks
//   #/db/NAME/manual        one-time (manual) backup      #/db/NAME/restore  restore
import { api, apiKey } from './api.js';
import { h } from './ui.js';
import { databasesView, backupsView, serverTasksView } from './views/lists.js';
import { taskFormView } from './views/task-form.js';
import { taskDetailsView } from './views/task-details.js';
import { manualBackupView } from './views/manual.js';
import { restoreView } from './views/restore.js';

const main = document.getElementById('view');
let cleanup = () => {};

function loginView() {
  const input = h('input', { type: 'password', id: 'api-key', autocomplete: 'off', 'data-role': 'api-key' });
  const err = h('p', { class: 'error', role: 'alert', id: 'api-key-error' });
  input.setAttribute('aria-describedby', 'api-key-error');
  const form = h('form', {
    class: 'card',
    onsubmit: async (e) => {
      e.preventDefault();
      apiKey.set(input.value.trim());
      try {
        await api('GET', '/databases');
        location.hash = sessionStorage.getItem('pagevault.after') || '#/';
      } catch (error) {
        apiKey.clear();
        err.textContent = error.code === 'PAGEVAULT_ERR_UNAUTHORIZED' ? 'This API key is not valid for this server.' : `${error.code}: ${error.message}`;
      }
    },
  },
  h('h1', {}, 'Sign in'),
  h('p', { class: 'hint' }, 'Enter an API key of this server (`pagevault apikey create --data DIR` makes one). It is kept for this browser tab only.'),
  h('label', { for: 'api-key' }, 'API key'), input, err,
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')));
  return form;
}

const ROUTES = [
  [/^#\/login$/, () => loginView()],
  [/^#\/?$/, () => databasesView()],
  [/^#\/tasks$/, () => serverTasksView()],
  [/^#\/tasks\/([^/]+)\/edit$/, (id) => taskFormView({ taskId: id })],
  [/^#\/tasks\/([^/]+)$/, (id) => taskDetailsView(id)],
  [/^#\/db\/([^/]+)\/tasks\/new$/, (db) => taskFormView({ database: db })],
  [/^#\/db\/([^/]+)\/manual$/, (db) => manualBackupView(db)],
  [/^#\/db\/([^/]+)\/restore$/, (db) => restoreView(db)],
  [/^#\/db\/([^/]+)$/, (db) => backupsView(db)],
];

async function route() {
  cleanup();
  cleanup = () => {};
  const hash = location.hash || '#/';
  document.getElementById('signout').hidden = !apiKey.get();
  if (!apiKey.get() && hash !== '#/login') {
    sessionStorage.setItem('pagevault.after', hash);
    location.hash = '#/login';
    return;
  }
  for (const [re, view] of ROUTES) {
    const m = re.exec(hash);
    if (!m) continue;
    main.replaceChildren(h('p', { class: 'hint' }, 'Loading…'));
    try {
      const el = await view(...m.slice(1).map(decodeURIComponent));
      main.replaceChildren(el);
      if (el.cleanup) cleanup = el.cleanup;
    } catch (err) {
      if (err.code === 'PAGEVAULT_ERR_UNAUTHORIZED') {
        apiKey.clear();
        location.hash = '#/login';
        return;
      }
      main.replaceChildren(h('div', { class: 'card' }, h('h1', {}, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, `${err.code ?? 'ERROR'}: ${err.message}`)));
    }
    main.focus();
    return;
  }
  main.replaceChildren(h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Databases')));
}

document.getElementById('signout').addEventListener('click', () => {
  apiKey.clear();
  location.hash = '#/login';
});
window.addEventListener('hashchange', route);
route();
