// beamctl's web UI: the layout (header, navigation, theme), the session
// (login page when there is none) and the page table.
import {h, replace, errorBox} from './lib/dom.js';
import {route, start, navigate, reload} from './lib/router.js';
import {loadSession, currentSession, logout, can} from './lib/api.js';
import * as syntax from './lib/syntax.js';
import overview from './pages/overview.js';
import node from './pages/node.js';
import proc from './pages/process.js';
import alarms from './pages/alarms.js';
import alarm from './pages/alarm.js';
import notifications from './pages/notifications.js';
import families from './pages/families.js';
import query from './pages/query.js';
import audit from './pages/audit.js';
import tokens from './pages/tokens.js';
import deploys from './pages/deploys.js';
import deploy from './pages/deploy.js';
import login from './pages/login.js';

route('/ui', overview);
route('/ui/nodes/:node', node);
route('/ui/nodes/:node/processes/:pid', proc);
route('/ui/alarms', alarms);
route('/ui/alarms/:id', alarm);
route('/ui/notifications', notifications);
route('/ui/families', families);
route('/ui/query', query);
route('/ui/audit', audit);
route('/ui/tokens', tokens);
route('/ui/deploys', deploys);
route('/ui/deploys/:id', deploy);
route('/ui/login', login);

const nav = [
  ['/ui/', 'Overview', 'viewer'],
  ['/ui/alarms', 'Alarms', 'viewer'],
  ['/ui/notifications', 'Notifications', 'viewer'],
  ['/ui/families', 'Families', 'viewer'],
  ['/ui/query', 'Query', 'viewer'],
  ['/ui/deploys', 'Deploys', 'viewer'],
  ['/ui/audit', 'Audit', 'admin'],
  ['/ui/tokens', 'Tokens', 'admin'],
];

// Theme: the system's unless the user chose one (kept in localStorage).
function applyTheme() {
  const t = localStorage.getItem('beamctl-theme');
  if (t) document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
}

function themeButton() {
  const dark = () => (document.documentElement.dataset.theme || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')) === 'dark';
  const b = h('button', {type: 'button', class: 'ghost', 'aria-pressed': String(dark()), title: 'Toggle dark mode',
    onclick: () => {
      localStorage.setItem('beamctl-theme', dark() ? 'light' : 'dark');
      applyTheme();
      b.setAttribute('aria-pressed', String(dark()));
      reload(); // charts read the theme's colours when drawn
    }}, 'Dark mode');
  return b;
}

// syntaxSelect chooses how names, MFAs and pids are spelled (lib/syntax.js).
function syntaxSelect() {
  const sel = h('select', {id: 'syntax', 'aria-label': 'Syntax of names', title: 'How module names, functions and pids are spelled: auto is Elixir\'s for Elixir code',
    onchange: () => { syntax.setChoice(sel.value); reload(); }},
  [['auto', 'Syntax: auto'], ['erlang', 'Syntax: Erlang'], ['elixir', 'Syntax: Elixir']].map(([v, l]) =>
    h('option', {value: v, selected: v === syntax.choice()}, l)));
  return sel;
}

const app = document.getElementById('app');
const main = h('main', {id: 'main', tabindex: '-1'});
const header = h('header', {class: 'top'});
applyTheme();
replace(app, h('a', {class: 'skip', href: '#main'}, 'Skip to content'), header, main);

function renderHeader(path) {
  const s = currentSession();
  replace(header,
    h('a', {class: 'brand', href: '/ui/'}, 'beamctl'),
    s ? h('nav', {'aria-label': 'Main'}, h('ul', {}, nav.filter(([, , r]) => can(r)).map(([href, label]) => {
      const here = href === '/ui/' ? (path === '/ui/' || path === '/ui' || path.startsWith('/ui/nodes')) : path.startsWith(href);
      return h('li', {}, h('a', {href, 'aria-current': here ? 'page' : null}, label));
    }))) : null,
    h('div', {class: 'who'},
      s ? syntaxSelect() : null,
      themeButton(),
      s ? h('span', {class: 'user', title: 'signed in with ' + s.method}, s.user, ' ', h('span', {class: 'badge role-' + s.role}, s.role)) : null,
      s && s.method === 'session' ? h('button', {type: 'button', class: 'ghost', onclick: async () => { await logout(); navigate('/ui/login'); }}, 'Log out') : null));
}

async function show(page, params, ctx) {
  const path = location.pathname;
  if (page !== login && !currentSession()) {
    try {
      await loadSession();
    } catch (e) {
      replace(main, errorBox(e));
      return;
    }
    if (!currentSession()) {
      navigate('/ui/login?next=' + encodeURIComponent(location.pathname + location.search), {replace: true});
      return;
    }
  }
  renderHeader(path);
  if (!page) {
    document.title = 'Not found · beamctl';
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at ' + path + '. ', h('a', {href: '/ui/'}, 'Overview')));
    return;
  }
  if (page.role && !can(page.role)) {
    document.title = 'Forbidden · beamctl';
    replace(main, h('h1', {}, page.title), errorBox(`This page needs the ${page.role} role; you have ${currentSession().role}.`));
    return;
  }
  const title = typeof page.title === 'function' ? page.title(params) : page.title;
  document.title = title + ' · beamctl';
  replace(main);
  try {
    await page.render(main, params, ctx);
  } catch (e) {
    main.append(errorBox(e));
  }
}

window.addEventListener('beamctl:unauthorized', () => {
  if (location.pathname !== '/ui/login') navigate('/ui/login?next=' + encodeURIComponent(location.pathname + location.search), {replace: true});
});

start(main, show);
