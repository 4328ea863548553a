// The Notifications page: full-text search with filters (the URL's query:
// grep, kind, cluster, node, severity, since, until), the live stream of
// new ones (server-sent events, prepended as they come, with a pause), and
// the crash dumps the server fetched with their triage.
import {h, replace, table, section, link, errorBox} from '../lib/dom.js';
import {api, can} from '../lib/api.js';
import {navigate} from '../lib/router.js';
import {time, bytes} from '../lib/format.js';

// maxShown bounds the list: the stream drops the oldest beyond it.
const maxShown = 500;
const severities = ['info', 'warning', 'error', 'critical'];
const rank = {info: 1, warning: 2, minor: 3, major: 4, error: 5, critical: 6};
// kinds are suggestions for the kind filter (any kind may be typed).
const kinds = ['log', 'crash_report', 'crash_dump', 'node_first_seen', 'node_up', 'node_down', 'node_restarted', 'node_left',
  'node_alarm_set', 'node_alarm_cleared', 'code_loaded', 'code_reloaded', 'code_purged', 'code_deleted', 'shell_command',
  'mnesia_inconsistent_database', 'mnesia_overload', 'sysmon_long_gc', 'sysmon_long_schedule', 'sysmon_large_heap',
  'sysmon_busy_port', 'sysmon_busy_dist_port', 'rate_limited', 'alarm_delivery_failed', 'audit'];
const ranges = [['', 'any time'], ['15m', 'last 15 minutes'], ['1h', 'last hour'], ['6h', 'last 6 hours'], ['24h', 'last 24 hours'], ['7d', 'last 7 days']];
const filterKeys = ['grep', 'kind', 'cluster', 'node', 'severity', 'since', 'until'];

function sevBadge(s) {
  const cls = {critical: 'sev-critical', error: 'sev-major', warning: 'sev-warning', info: 'sev-info'}[s] || '';
  return h('span', {class: 'badge ' + cls}, s || 'none');
}

// entry is one notification, expandable to its fields (the summary holds
// no link: a summary is a control itself).
function entry(n) {
  const fields = Object.entries(n.fields || {}).filter(([, v]) => v !== '').sort(([a], [b]) => a.localeCompare(b));
  return h('li', {class: 'note', dataset: {id: String(n.id)}},
    h('details', {},
      h('summary', {},
        h('time', {datetime: n.time, class: 'muted mono'}, time(n.time)), ' ',
        sevBadge(n.severity), ' ',
        h('span', {class: 'kind mono'}, n.kind), ' ',
        h('span', {class: 'node'}, n.node || ''), ' ',
        h('span', {class: 'text'}, n.text)),
      h('dl', {class: 'fields'},
        [['id', n.id], ['cluster', n.cluster], ['node', n.node], ['kind', n.kind], ['severity', n.severity], ['time', n.time]]
          .concat(n.text.includes('\n') ? [['text', n.text]] : []) // a multi-line message, its lines kept
          .concat(fields).map(([k, v]) => [h('dt', {}, k), h('dd', {}, k === 'node' && v
            ? link('/ui/nodes/' + encodeURIComponent(v), v) : h('pre', {}, String(v ?? '')))]))));
}

function filterForm(q) {
  const field = (id, label, input) => h('label', {for: id}, label, ' ', input);
  const opt = (v, label, cur) => h('option', {value: v, selected: v === cur}, label);
  const form = h('form', {class: 'filters row', role: 'search', 'aria-label': 'Search notifications',
    onsubmit(e) {
      e.preventDefault();
      const p = new URLSearchParams();
      for (const k of filterKeys) {
        const v = form.elements[k].value.trim();
        if (v) p.set(k, k === 'until' && /T/.test(v) ? new Date(v).toISOString() : v);
      }
      navigate('/ui/notifications' + (p.toString() ? '?' + p : ''));
    }},
    field('nf-grep', 'Text', h('input', {id: 'nf-grep', name: 'grep', type: 'search', value: q.get('grep') || '', placeholder: 'words to find', size: 24})),
    field('nf-kind', 'Kind', h('input', {id: 'nf-kind', name: 'kind', value: q.get('kind') || '', list: 'nf-kinds', size: 14})),
    h('datalist', {id: 'nf-kinds'}, kinds.map(k => h('option', {value: k}))),
    field('nf-cluster', 'Cluster', h('input', {id: 'nf-cluster', name: 'cluster', value: q.get('cluster') || '', size: 10})),
    field('nf-node', 'Node', h('input', {id: 'nf-node', name: 'node', value: q.get('node') || '', size: 18})),
    field('nf-severity', 'Severity at least', h('select', {id: 'nf-severity', name: 'severity'},
      opt('', 'any', q.get('severity') || ''), severities.map(s => opt(s, s, q.get('severity') || '')))),
    field('nf-since', 'Since', h('select', {id: 'nf-since', name: 'since'},
      ranges.map(([v, l]) => opt(v, l, q.get('since') || '')),
      q.get('since') && !ranges.some(([v]) => v === q.get('since')) ? opt(q.get('since'), q.get('since'), q.get('since')) : null)),
    field('nf-until', 'Until', h('input', {id: 'nf-until', name: 'until', type: 'datetime-local', step: 1,
      value: q.get('until') ? localInput(q.get('until')) : ''})),
    h('button', {type: 'submit'}, 'Search'),
    h('a', {href: '/ui/notifications', class: 'button ghost'}, 'Clear'));
  return form;
}

// localInput turns an RFC 3339 time into a datetime-local input's value.
function localInput(s) {
  const d = new Date(s);
  if (isNaN(d)) return '';
  const p = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export default {
  title: 'Notifications',
  async render(root, params, ctx) {
    const q = ctx.query;
    const filter = {};
    for (const k of ['grep', 'kind', 'cluster', 'node', 'since', 'until']) if (q.get(k)) filter[k] = q.get(k);
    // The API has no severity filter: it is applied here, to the newest
    // maxShown that match the rest and to the stream.
    const minSev = rank[q.get('severity')] || 0;
    const keep = n => (rank[n.severity] || 0) >= minSev;
    const liveOK = !q.get('until'); // a closed time range gets nothing new

    const list = h('ul', {class: 'notes', 'aria-label': 'Notifications, newest first'});
    const status = h('span', {class: 'live-status muted', role: 'status'});
    const pauseBtn = h('button', {type: 'button', class: 'ghost', 'aria-pressed': 'false', disabled: !liveOK}, 'Pause');
    const count = h('span', {class: 'muted'});
    root.append(h('h1', {}, 'Notifications'), section('Search', filterForm(q)),
      h('section', {class: 'card', 'aria-label': 'Notifications'},
        h('div', {class: 'row live-bar'}, h('h2', {}, 'Notifications'), count, pauseBtn, status),
        list));
    const dumps = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
    root.append(section('Crash dumps', dumps));

    let lastID = 0;
    let shown = 0;
    const setCount = () => { count.textContent = `${shown} shown${shown >= maxShown ? ' (the newest ' + maxShown + ')' : ''}`; };
    try {
      const ns = await api.get('/api/v1/notifications', {...filter, limit: maxShown});
      for (const n of ns) lastID = Math.max(lastID, n.id);
      const rows = ns.filter(keep);
      shown = rows.length;
      if (!rows.length) list.before(h('p', {class: 'empty', id: 'notes-empty'}, 'No notification matches.'));
      list.append(...rows.map(entry));
      setCount();
    } catch (e) {
      list.before(errorBox(e));
    }

    // The live stream: from the newest shown on (after_id), so that a
    // pause or a reconnection misses nothing (the server replays from the
    // store what came in between).
    let es = null;
    let paused = false;
    let retry = null;
    let left = false;
    const close = () => { if (es) { es.close(); es = null; } clearTimeout(retry); };
    const open = () => {
      close();
      if (left || paused || !liveOK) return;
      const p = new URLSearchParams({...filter, after_id: String(lastID)});
      p.delete('since');
      es = new EventSource('/api/v1/notifications/stream?' + p);
      status.textContent = 'Connecting…';
      es.onopen = () => { status.textContent = 'Live'; };
      es.onmessage = ev => {
        let n;
        try { n = JSON.parse(ev.data); } catch (err) { return; }
        if (n.id <= lastID) return;
        lastID = n.id;
        if (!keep(n)) return;
        document.getElementById('notes-empty')?.remove();
        list.prepend(entry(n));
        if (++shown > maxShown) { list.lastElementChild?.remove(); shown = maxShown; }
        setCount();
      };
      // On an error the page reconnects itself (from the newest it has),
      // once the session is known to be valid: an EventSource cannot send
      // the header that spares a 401 the browser's own login dialog, the
      // session request does (a 401 there leads to the login page).
      es.onerror = () => {
        close();
        status.textContent = 'Disconnected; reconnecting…';
        retry = setTimeout(() => api.get('/api/v1/session').then(open, e => {
          status.textContent = 'Disconnected: ' + e.message;
          if (e.status !== 401) retry = setTimeout(open, 10000);
        }), 3000);
      };
    };
    pauseBtn.addEventListener('click', () => {
      paused = !paused;
      pauseBtn.textContent = paused ? 'Resume' : 'Pause';
      pauseBtn.setAttribute('aria-pressed', String(paused));
      if (paused) { close(); status.textContent = 'Paused'; } else open();
    });
    ctx.onLeave(() => { left = true; close(); });
    if (liveOK) open();
    else status.textContent = 'Not live: the search ends at a given time.';

    loadDumps(dumps);
  },
};

// lines shows a triage field ("a; b; c") as a list.
function lines(s) {
  if (!s) return '–';
  return h('ul', {class: 'plain mono'}, s.split('; ').map(x => h('li', {}, x)));
}

// loadDumps lists the crash dumps with their triage, from their crash_dump
// notifications (slogan, top processes by memory and by message queue).
async function loadDumps(el) {
  try {
    const [ds, ns] = await Promise.all([api.get('/api/v1/crashdumps'), api.get('/api/v1/notifications', {kind: 'crash_dump', limit: 1000})]);
    const triage = d => ns.find(n => n.node === d.node && (n.fields?.stored || '').endsWith('/' + d.file))?.fields || {};
    const admin = can('admin');
    replace(el, table([
      {label: 'Node', value: d => link('/ui/nodes/' + encodeURIComponent(d.node), d.node)},
      {label: 'Cluster', value: d => d.cluster},
      {label: 'Crashed', value: d => d.written || triage(d).dump_time || '–'},
      {label: 'Fetched', value: d => time(d.fetched)},
      {label: 'Slogan', value: d => h('span', {class: 'mono'}, d.slogan || triage(d).slogan || '–')},
      {label: 'Top memory', value: d => lines(triage(d).top_memory)},
      {label: 'Top message queues', value: d => lines(triage(d).top_message_queues)},
      {label: 'Size', num: true, value: d => bytes(d.size)},
      admin ? {label: 'Download', value: d => h('a', {download: d.file,
        href: '/api/v1/crashdumps/' + [d.cluster, d.node, d.file].map(encodeURIComponent).join('/'),
        title: d.file, 'aria-label': 'Download ' + d.file}, 'Download')} : null,
    ].filter(Boolean), ds, {empty: 'No crash dump was fetched.'}),
    admin ? null : h('p', {class: 'muted'}, 'Downloading a dump needs the admin role (it holds the node’s cookie).'));
  } catch (e) {
    replace(el, errorBox(e));
  }
}
