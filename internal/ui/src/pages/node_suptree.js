// The Node page's "Supervision trees" tab: the running applications with
// their supervision trees, as observer's Applications tab shows them, from
// GET /api/v1/nodes/{node}/suptree (the walk is bounded on the node; what
// it left out is marked). Each supervisor's name is a disclosure button,
// so the tree folds with the keyboard (Tab, Enter, Space) as with the
// mouse; pids are links to their processes.
import {h, replace, errorBox} from '../lib/dom.js';
import {api} from '../lib/api.js';
import {num} from '../lib/format.js';
import {tools, toolPath, processHref} from './node_tool.js';
import * as syntax from '../lib/syntax.js';

const OPEN_LEVELS = 2; // supervisors open on arrival: the top two levels

const state = {app: '', depth: '6', n: '50'};

// sp spells the tree being shown: Elixir's way when it has Elixir modules
// (or on request), see lib/syntax.js.
let sp = syntax.speller(false);

function hasElixir(n) {
  return syntax.isElixir(n.id, ...(n.modules || [])) || (n.children || []).some(hasElixir);
}

function pidLink(node, pid) {
  if (!pid.startsWith('<')) return h('span', {class: 'st-pid muted'}, pid); // restarting, undefined
  return h('a', {class: 'st-pid', href: processHref(node, pid)}, sp.pid(pid));
}

// marker says in words what the walk left out below n ('' when nothing).
function marker(n) {
  switch (n.truncated) {
    case 'max-children': return `${n.not_shown} more children not shown (max children)`;
    case 'max-nodes': return `${n.not_shown} more children not shown (the walk's node cap was reached)`;
    case 'depth': return 'children not shown (depth)';
    case 'deadline': return 'children not shown (the walk ran out of time)';
  }
  return '';
}

// toggle is a disclosure button (aria-expanded) that shows or hides list:
// Enter and Space work on it as on any button.
function toggle(label, list, open) {
  list.hidden = !open;
  const b = h('button', {type: 'button', class: 'st-toggle', 'aria-expanded': String(open)},
    h('span', {class: 'st-caret', 'aria-hidden': 'true'}), label);
  b.addEventListener('click', () => setExpanded(b, b.getAttribute('aria-expanded') !== 'true'));
  b.stList = list;
  return b;
}

function setExpanded(b, open) {
  b.setAttribute('aria-expanded', String(open));
  b.stList.hidden = !open;
}

function details(n, node) {
  return [
    ' ', pidLink(node, n.pid), ' ',
    h('span', {class: 'badge st-type'}, n.type),
    n.modules && n.modules.length ? h('span', {class: 'st-mods muted'}, n.modules.map(sp.name).join(', ')) : null,
    n.error ? h('span', {class: 'st-error'}, n.error) : null,
  ];
}

function nodeView(n, node, level) {
  if (n.type !== 'supervisor') {
    return h('li', {class: 'st-worker'}, h('div', {class: 'st-line'}, h('span', {class: 'st-id'}, sp.name(n.id)), details(n, node)));
  }
  const kids = (n.children || []).map(c => nodeView(c, node, level + 1));
  const m = marker(n);
  if (m) kids.push(h('li', {class: 'st-more'}, m));
  if (!kids.length) kids.push(h('li', {class: 'st-more'}, n.error ? 'children unknown' : 'no children'));
  const list = h('ul', {}, kids);
  return h('li', {class: 'st-sup'},
    h('div', {class: 'st-line'}, toggle(h('span', {class: 'st-id'}, sp.name(n.id)), list, level <= OPEN_LEVELS), details(n, node)),
    list);
}

function appView(a, node) {
  const name = h('span', {class: 'st-app'}, a.name);
  if (a.error) return h('li', {class: 'st-worker'}, name, ' ', h('span', {class: 'st-error'}, a.error));
  if (!a.tree) return h('li', {class: 'st-worker'}, name, ' ', h('span', {class: 'muted'}, '(no supervisor)'));
  const list = h('ul', {}, nodeView(a.tree, node, 1));
  return h('li', {class: 'st-sup'}, h('div', {class: 'st-line'}, toggle(name, list, true)), list);
}

export default {
  id: 'suptree',
  label: 'Supervision trees',
  role: 'operator',
  async render(panel, {node, ctx}) {
    // The application is in the URL (the page's Refresh reads it back);
    // depth and children per supervisor last as long as the page.
    state.app = new URL(location.href).searchParams.get('app') || '';
    let ctl = null;
    let seq = 0;
    if (ctx && ctx.onLeave) ctx.onLeave(() => ctl && ctl.abort());

    const appSel = h('select', {id: 'st-app', name: 'app'}, h('option', {value: ''}, 'All applications'));
    const depth = h('input', {id: 'st-depth', type: 'number', min: 1, max: 20, value: state.depth, size: 3});
    const maxKids = h('input', {id: 'st-n', type: 'number', min: 1, max: 1000, value: state.n, size: 5});
    const status = h('p', {class: 'muted tool-took st-status', role: 'status'});
    const out = h('div', {class: 'st-out'});
    const setOpen = open => out.querySelectorAll('.st-toggle').forEach(b => setExpanded(b, open));
    const form = h('form', {class: 'row tool-form st-controls', onsubmit: e => { e.preventDefault(); load(); }},
      h('label', {for: 'st-app'}, 'Application'), appSel,
      h('label', {for: 'st-depth'}, 'Depth'), depth,
      h('label', {for: 'st-n'}, 'Children per supervisor'), maxKids,
      h('button', {type: 'submit'}, 'Show'),
      h('button', {type: 'button', class: 'ghost', onclick: () => setOpen(true)}, 'Expand all'),
      h('button', {type: 'button', class: 'ghost', onclick: () => setOpen(false)}, 'Collapse all'));
    appSel.addEventListener('change', () => load());
    const tool = await tools().then(ts => ts.get('suptree') || {}, () => ({}));
    replace(panel, h('div', {class: 'suptree'}, h('p', {class: 'muted'}, tool.summary || ''), form, out, status));

    const setApps = names => {
      const have = new Set([...appSel.options].map(o => o.value));
      if (state.app) names = [...names, state.app];
      for (const name of [...new Set(names)].sort()) {
        if (!have.has(name)) appSel.append(h('option', {value: name}, name));
      }
      appSel.value = state.app;
    };
    // The picker lists the running applications: those of a walk of all of
    // them, else (a page opened on one) those apps lists, asked after the
    // walk so that the two inspections do not run at once on the node.
    let listed = false;
    const listApps = () => {
      if (listed) return;
      listed = true;
      api.get(toolPath(node, 'apps')).then(r => setApps((r.applications || []).filter(a => a.running).map(a => a.name)))
        .catch(() => { listed = false; });
    };

    async function load() {
      state.app = appSel.value;
      state.depth = depth.value || '6';
      state.n = maxKids.value || '50';
      const u = new URL(location.href);
      if (state.app) u.searchParams.set('app', state.app); else u.searchParams.delete('app');
      history.replaceState(history.state, '', u.pathname + u.search + u.hash);
      if (ctl) ctl.abort();
      ctl = new AbortController();
      const mine = ++seq;
      status.textContent = 'Walking the supervision trees…';
      try {
        const r = await api.get(toolPath(node, 'suptree'), {app: state.app, depth: state.depth, 'max-children': state.n}, ctl.signal);
        if (mine !== seq) return;
        status.textContent = `${num(r.nodes)} nodes shown; the walk took ${(r.walk_seconds * 1000).toFixed(1)} ms ` +
          `and ${num(r.reductions)} reductions on the node.`;
        if (!state.app) {
          setApps(r.applications.map(a => a.name));
          listed = true;
        } else listApps();
        sp = syntax.speller(syntax.elixir(r.applications.some(a => a.tree && hasElixir(a.tree))));
        replace(out, r.applications.length
          ? h('ul', {class: 'st-tree', 'aria-label': 'Applications'}, r.applications.map(a => appView(a, node)))
          : h('p', {class: 'empty'}, 'No running application.'));
      } catch (e) {
        if (e.name === 'AbortError' || mine !== seq) return;
        if (state.app) listApps();
        status.textContent = '';
        replace(out, errorBox(e));
      }
    }
    setApps([]); // the application of the URL, if any, is the one picked
    await load();
  },
};
