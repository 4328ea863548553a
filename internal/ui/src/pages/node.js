// The Node page (/ui/nodes/:node): the node's facts and active alarms, live
// charts of what the collectors store (one range picker, refreshed on the
// page's one timer), then tabs for the live tools of the tool registry and
// the node's notifications and alarms. A tab loads when first opened and
// on its Refresh button only: the tools cost the node, the timer never runs
// them.
import {h, replace, errorBox} from '../lib/dom.js';
import {api, can, currentSession, instant} from '../lib/api.js';
import {TimeChart, rangePicker, rangeSeconds, stepFor} from '../lib/chart.js';
import * as fmt from '../lib/format.js';
import {charts, sel} from './node_charts.js';
import processes from './node_processes.js';
import ets from './node_ets.js';
import alloc from './node_alloc.js';
import apps from './node_apps.js';
import suptree from './node_suptree.js';
import ports from './node_ports.js';
import msacc from './node_msacc.js';
import leaks from './node_leaks.js';
import {notifications, alarms} from './node_events.js';
import {products} from './node_products.js';

// The tabs: the node's events first (the default, Notifications, costs the
// node nothing), then the tools in observer's order where it has them. A
// tab module is {id, label, role, render(panel, {node, ctx})}.
const tabs = [notifications, alarms, apps, suptree, processes, ports, ets, alloc, msacc, leaks];

const refreshMs = 10000;

function setQuery(key, value) {
  const u = new URL(location.href);
  u.searchParams.set(key, value);
  history.replaceState(history.state, '', u);
}

// facts renders the header's facts of the node (n from /api/v1/nodes) and
// its active alarms.
function facts(node, n, active) {
  const worst = active.reduce((w, a) => Math.max(w, sevRank[a.severity] || 0), 0);
  const item = (label, ...value) => h('div', {}, h('dt', {}, label), h('dd', {}, ...value));
  return h('dl', {class: 'node-facts'},
    item('Cluster', n ? n.cluster : '–'),
    item('Family', (n && n.family) || '–'),
    item('State', n ? h('span', {class: 'badge ' + (n.state === 'up' ? 'sev-ok' : 'sev-major')}, n.state) : 'not managed'),
    item('OTP', (n && n.otp_release) || '–'),
    item('Uptime', n ? fmt.duration(n.uptime_seconds) : '–'),
    item('Active alarms', h('a', {class: 'alarm-count', href: '/ui/alarms?node=' + encodeURIComponent(node)},
      h('span', {class: 'badge' + (worst ? ' sev-' + sevClass[worst] : '')}, String(active.length)),
      active.length === 1 ? 'alarm' : 'alarms')),
    n && n.last_error ? item('Last error', h('span', {class: 'error'}, n.last_error)) : null);
}

const sevRank = {info: 1, warning: 2, minor: 3, major: 4, error: 4, critical: 5};
const sevClass = {1: 'ok', 2: 'warning', 3: 'minor', 4: 'major', 5: 'critical'};

// tabList builds the tablist and its panels; arrow keys, Home and End move
// between tabs and Enter or Space opens one (manual activation: opening a
// tab runs a tool on the node).
function tabList(node, ctx, tabs) {
  const list = h('div', {role: 'tablist', class: 'tabs', 'aria-label': 'Node tools'});
  const panels = h('div', {class: 'tab-panels'});
  const loaded = new Set();
  const entries = tabs.map(t => {
    const id = 'tab-' + t.id;
    const tab = h('button', {type: 'button', role: 'tab', id, 'aria-controls': 'panel-' + t.id, 'aria-selected': 'false', tabindex: '-1',
      dataset: {tab: t.id}, onclick: () => select(t.id, true)}, t.label);
    const body = h('div', {class: 'tab-body'});
    const allowed = !t.role || can(t.role);
    const refresh = h('button', {type: 'button', class: 'ghost refresh', onclick: () => load(t, body)}, 'Refresh');
    const panel = h('div', {role: 'tabpanel', id: 'panel-' + t.id, 'aria-labelledby': id, tabindex: '0', hidden: true, class: 'card'},
      allowed ? h('div', {class: 'tab-bar'}, h('h2', {}, t.label), refresh) : h('h2', {}, t.label), body);
    list.append(tab);
    panels.append(panel);
    return {t, tab, panel, body, allowed};
  });
  async function load(t, body) {
    loaded.add(t.id);
    replace(body);
    try {
      await t.render(body, {node, ctx});
    } catch (e) {
      body.append(errorBox(e));
    }
  }
  function select(id, focus) {
    const e = entries.find(x => x.t.id === id) || entries[0];
    for (const x of entries) {
      const on = x === e;
      x.tab.setAttribute('aria-selected', String(on));
      x.tab.tabIndex = on ? 0 : -1;
      x.panel.hidden = !on;
    }
    if (focus) {
      e.tab.focus();
      setQuery('tab', e.t.id);
    }
    if (loaded.has(e.t.id)) return;
    if (!e.allowed) {
      loaded.add(e.t.id);
      const role = currentSession() ? currentSession().role : 'none';
      e.body.append(h('p', {class: 'needs-role'},
        `The ${e.t.label} tool runs on the node and needs the ${e.t.role} role; you are signed in as ${role}. `,
        'The charts above, and the Ports, Notifications and Alarms tabs, need no more than viewer.'));
      return;
    }
    load(e.t, e.body);
  }
  list.addEventListener('keydown', ev => {
    const i = entries.findIndex(x => x.tab === document.activeElement);
    if (i < 0) return;
    let j = null;
    if (ev.key === 'ArrowRight') j = (i + 1) % entries.length;
    else if (ev.key === 'ArrowLeft') j = (i - 1 + entries.length) % entries.length;
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = entries.length - 1;
    if (j == null) return;
    ev.preventDefault();
    for (const x of entries) x.tab.tabIndex = -1;
    entries[j].tab.tabIndex = 0;
    entries[j].tab.focus();
  });
  return {el: h('section', {class: 'node-tools', 'aria-label': 'Node tools'}, list, panels), select};
}

export default {
  title: p => p.node,
  async render(root, {node}, ctx) {
    let range = ctx.query.get('range') || '1h';
    const head = h('div', {class: 'node-head'});
    const grid = h('div', {class: 'grid node-charts'});
    let list = [];
    const build = () => {
      list.forEach(c => c.destroy());
      const step = stepFor(rangeSeconds(range));
      list = charts(node, Math.max(60, 2 * step) + 's').map(o => new TimeChart(o));
      replace(grid, list.map(c => c.el));
    };
    const loadCharts = () => {
      const end = Date.now() / 1000;
      return Promise.all(list.map(c => c.load(rangeSeconds(range), end)));
    };
    // The node's entry of /api/v1/nodes is read once (the list has every
    // node); the timer refreshes its state and uptime from the store.
    let info = null;
    const loadHead = async () => {
      const [nodes, live, active] = await Promise.all([
        info ? null : api.get('/api/v1/nodes'),
        instant(`{__name__=~"beamctl_node_up|erlang_vm_uptime_seconds",${sel(node)}}`),
        api.get('/api/v1/alarms', {node, active: 'true'}),
      ]);
      if (nodes) info = nodes.find(n => n.node === node) || null;
      const n = info && {...info};
      for (const r of live) {
        if (!n) break;
        const v = Number(r.value[1]);
        if (r.metric.__name__ === 'erlang_vm_uptime_seconds') n.uptime_seconds = v;
        else if (v === 1) n.state = 'up';
        else if (n.state === 'up') n.state = 'down'; // unreachable or connecting stay as read
      }
      replace(head, facts(node, n, active));
    };
    // The product tabs (RabbitMQ, Mnesia, ejabberd) where the collectors
    // found the product: the tools would fail elsewhere.
    const found = await instant(`count by (__name__) ({__name__=~"${products.map(p => p.series).join('|')}",${sel(node)}})`)
      .then(rs => new Set(rs.map(r => r.metric.__name__)), () => new Set());
    const shown = [...tabs.slice(0, 2), ...products.filter(p => found.has(p.series)), ...tabs.slice(2)];
    const t = tabList(node, ctx, shown);
    root.append(
      h('h1', {class: 'node-title'}, node),
      head,
      h('section', {class: 'node-live', 'aria-label': 'Charts'},
        h('div', {class: 'row chart-bar'},
          h('h2', {}, 'Charts'),
          rangePicker(range, r => { range = r; build(); loadCharts(); }),
          h('span', {class: 'muted'}, `Refreshed every ${refreshMs / 1000} s.`)),
        grid),
      t.el);
    build();
    const resize = () => list.forEach(c => c.resize());
    window.addEventListener('resize', resize);
    ctx.onLeave(() => { window.removeEventListener('resize', resize); list.forEach(c => c.destroy()); });
    t.select(ctx.query.get('tab') || shown[0].id, false);
    ctx.every(refreshMs, async () => {
      await Promise.all([loadHead().catch(e => replace(head, errorBox(e))), loadCharts()]);
    });
  },
};
