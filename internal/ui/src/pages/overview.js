// The Overview page: clusters → families → nodes ("Workers → Factories →
// Industries"). One request (GET /api/v1/overview) gives every node's
// figures, sparklines and the per-family and per-cluster aggregates; the
// filters and the search run here over that one answer. Rows go into the
// DOM in chunks (the first chunk at once, then one per frame) and the
// sparklines after the rows, so the first paint waits for neither.
import {h, link, errorBox} from '../lib/dom.js';
import {api} from '../lib/api.js';
import {sparkline} from '../lib/chart.js';
import * as fmt from '../lib/format.js';

const severities = ['critical', 'major', 'minor', 'warning'];
const rank = s => (s ? 4 - severities.indexOf(s) : 0); // critical 4 … warning 1, none 0
const chunk = 250; // rows per frame
const firstChunk = 60; // more than a screen: the first paint waits for no more
const firstPaintMark = 'beamctl:overview-rows';

// The node table's columns: label, value(node), numeric.
const cols = [
  {label: 'Node', value: n => link('/ui/nodes/' + encodeURIComponent(n.node), n.node)},
  {label: 'State', value: n => n.state},
  {label: 'Alarm', value: n => n.severity ? h('span', {class: 'badge sev-' + n.severity}, n.severity + (n.alarms > 1 ? ' ×' + n.alarms : '')) : ''},
  {label: 'Memory', num: true, value: n => fmt.bytes(n.memory_bytes)},
  {label: 'Processes', num: true, value: n => processes(n)},
  {label: 'Run queue', num: true, value: n => fmt.num(n.run_queue)},
  {label: 'Schedulers', num: true, value: n => fmt.pct(n.scheduler_utilization)},
  {label: 'Longest queue', num: true, value: n => fmt.num(n.message_queue_max)},
  {label: 'Uptime', num: true, value: n => fmt.duration(n.uptime_seconds)},
  {label: 'OTP', value: n => n.otp_release || '–'},
  {label: 'Release', value: n => n.release ? n.release + ' ' + (n.release_version || '') : '–'},
  {label: 'Last hour', value: () => null, spark: true},
];

function processes(n) {
  if (n.processes == null) return '–';
  const lim = n.process_limit ? ' / ' + fmt.num(n.process_limit) : '';
  return fmt.num(n.processes) + lim;
}

function states(g) {
  return Object.entries(g.states).sort().map(([s, c]) => `${c} ${s}`).join(', ');
}

function sevBadge(s, count) {
  return s ? h('span', {class: 'badge sev-' + s}, s + (count ? ' ×' + count : '')) : h('span', {class: 'muted'}, 'none');
}

// summary is the table of clusters, each followed by its families.
function summary(ov) {
  const row = (g, name, cls) => h('tr', {class: cls},
    h('th', {scope: 'row'}, name),
    h('td', {class: 'num'}, String(g.nodes)),
    h('td', {}, states(g)),
    h('td', {}, sevBadge(g.severity, g.alarms)),
    h('td', {class: 'num'}, fmt.bytes(g.memory_bytes)),
    h('td', {class: 'num'}, fmt.num(g.processes)),
    h('td', {class: 'num'}, fmt.pct(g.max_process_ratio)),
    h('td', {class: 'num'}, fmt.num(g.max_run_queue)),
    h('td', {class: 'num'}, fmt.pct(g.max_scheduler_utilization)),
    h('td', {class: 'num'}, fmt.num(g.max_message_queue)),
    h('td', {}, g.otp_releases.join(', ') || '–'));
  const rows = [];
  for (const c of ov.clusters) {
    rows.push(row(c, c.cluster, 'ov-cluster'));
    for (const f of ov.families.filter(f => f.cluster === c.cluster)) rows.push(row(f, '› ' + f.family, 'ov-family'));
  }
  const heads = ['Cluster / family', 'Nodes', 'States', 'Worst alarm', 'Memory', 'Processes', 'Most of +P',
    'Max run queue', 'Max schedulers', 'Longest queue', 'OTP'];
  return h('div', {class: 'table-wrap'}, h('table', {class: 'ov-summary'},
    h('caption', {}, 'Sums over the nodes, and the highest figure of any node'),
    h('thead', {}, h('tr', {}, heads.map((l, i) => h('th', {scope: 'col', class: i && i !== 2 && i !== 3 && i !== 10 ? 'num' : null}, l)))),
    h('tbody', {}, rows)));
}

// matches builds the filter from the controls' values.
function matcher({q, state, severity}) {
  const needle = q.trim().toLowerCase();
  return n => {
    if (needle && !n.node.toLowerCase().includes(needle) && !(n.family || '').toLowerCase().includes(needle)) return false;
    if (state && n.state !== state) return false;
    if (severity === 'none') return !n.severity;
    if (severity === 'any') return !!n.severity;
    if (severity) return rank(n.severity) >= rank(severity);
    return true;
  };
}

// groups orders the nodes: by cluster, family, then worst alarm first.
function groups(nodes) {
  const byKey = new Map();
  for (const n of nodes) {
    const k = n.cluster + '\u0000' + (n.family || '');
    if (!byKey.has(k)) byKey.set(k, {cluster: n.cluster, family: n.family || '', nodes: []});
    byKey.get(k).nodes.push(n);
  }
  const out = [...byKey.values()].sort((a, b) => a.cluster.localeCompare(b.cluster) || a.family.localeCompare(b.family));
  for (const g of out) g.nodes.sort((a, b) => rank(b.severity) - rank(a.severity) || a.node.localeCompare(b.node));
  return out;
}

function nodeRow(n) {
  return h('tr', {class: 'ov-node' + (n.severity ? ' sev-' + n.severity : ''), dataset: {node: n.node}},
    cols.map(c => c.spark ? h('td', {class: 'ov-spark'}) : h(c.label === 'Node' ? 'th' : 'td',
      {class: c.num ? 'num' : null, scope: c.label === 'Node' ? 'row' : null}, c.value(n))));
}

// afterPaint runs f once the next frame is painted.
const afterPaint = f => requestAnimationFrame(() => setTimeout(f, 0));

// drawable: a sparkline needs two points.
const drawable = sp => sp && sp.values.filter(v => v != null).length >= 2 ? sp : null;

function sparks(td, n) {
  const s = n.spark || {};
  const util = drawable(s.scheduler_utilization), mem = drawable(s.memory_bytes);
  const line = (sp, cls, label) => {
    const text = `${label}, last hour: ${sp.min === sp.max ? sp.fmt(sp.min) : sp.fmt(sp.min) + ' to ' + sp.fmt(sp.max)}`;
    return h('span', {class: cls, title: text}, sparkline(sp.values, {width: 80, height: 20, label: text}));
  };
  td.replaceChildren(
    util ? line({...util, fmt: fmt.pct}, 'ov-util', 'Scheduler utilisation') : null,
    mem ? line({...mem, fmt: fmt.bytes}, 'ov-mem', 'Memory') : null);
  if (!util && !mem) td.append(h('span', {class: 'muted'}, '–'));
}

export default {
  title: 'Overview',
  render(root, params, ctx) {
    const init = {q: ctx.query.get('q') || '', state: ctx.query.get('state') || '', severity: ctx.query.get('severity') || ''};
    const search = h('input', {type: 'search', id: 'ov-search', value: init.q, placeholder: 'node or family', autocomplete: 'off'});
    const stateSel = h('select', {id: 'ov-state'}, h('option', {value: ''}, 'any'));
    const sevSel = h('select', {id: 'ov-severity'},
      [['', 'any'], ['any', 'with an alarm'], ['none', 'without alarms'], ...severities.map(s => [s, s === 'critical' ? s : s + ' or worse'])]
        .map(([v, l]) => h('option', {value: v, selected: v === init.severity}, l)));
    const count = h('p', {class: 'muted', id: 'ov-count', 'aria-live': 'polite'});
    const sumBox = h('div');
    const nodesBox = h('div', {class: 'table-wrap'});
    const status = h('div');
    root.append(h('h1', {}, 'Overview'), status,
      h('section', {class: 'card', 'aria-label': 'Clusters and families'}, h('h2', {}, 'Clusters and families'), sumBox),
      h('section', {class: 'card', 'aria-label': 'Nodes'}, h('h2', {}, 'Nodes'),
        h('div', {class: 'row ov-filters'},
          h('label', {for: 'ov-search'}, 'Search '), search,
          h('label', {for: 'ov-state'}, 'State '), stateSel,
          h('label', {for: 'ov-severity'}, 'Alarm '), sevSel),
        count, nodesBox));

    let ov = null;
    let gen = 0; // a newer render cancels the chunks of an older one

    const values = () => ({q: search.value, state: stateSel.value, severity: sevSel.value});
    const keepInURL = () => {
      const u = new URL(location.href);
      for (const [k, v] of Object.entries(values())) v ? u.searchParams.set(k, v) : u.searchParams.delete(k);
      history.replaceState(history.state, '', u);
    };

    // renderNodes shows the nodes that pass the filters. A refresh builds
    // the new table off screen and swaps it in whole (the scroll position
    // and the sparklines stay); a first render or a filter change shows
    // the first rows at once.
    const renderNodes = (refresh = false) => {
      const my = ++gen;
      if (!nodesBox.querySelector('table')) refresh = false; // nothing to keep
      const shown = ov.nodes.filter(matcher(values()));
      count.textContent = `${shown.length} of ${ov.nodes.length} nodes`;
      const tbl = h('table', {class: 'ov-nodes'},
        h('caption', {}, 'Nodes by cluster and family, worst alarm first'),
        h('thead', {}, h('tr', {}, cols.map(c => h('th', {scope: 'col', class: c.num ? 'num' : null}, c.label)))));
      // Rows to add: a group's header, then its nodes.
      const work = [];
      for (const g of groups(shown)) {
        work.push({group: g});
        for (const n of g.nodes) work.push({node: n});
      }
      let body = null;
      const spark = [];
      const add = (from) => {
        if (my !== gen) return;
        const frag = document.createDocumentFragment();
        const end = Math.min(work.length, from + (from || refresh ? chunk : firstChunk));
        for (let i = from; i < end; i++) {
          const w = work[i];
          if (w.group) {
            if (body) frag.append(body);
            const g = w.group;
            const worst = g.nodes.reduce((s, n) => rank(n.severity) > rank(s) ? n.severity : s, '');
            body = h('tbody', {class: 'ov-group'},
              h('tr', {}, h('th', {scope: 'rowgroup', colspan: cols.length},
                g.cluster, g.family ? ' › ' + g.family : '', h('span', {class: 'muted'}, ` · ${g.nodes.length} node${g.nodes.length === 1 ? '' : 's'}`),
                worst ? [' ', h('span', {class: 'badge sev-' + worst}, worst)] : null)));
          } else {
            const tr = nodeRow(w.node);
            body.append(tr);
            spark.push([tr.lastChild, w.node]);
          }
        }
        if (body) frag.append(body);
        tbl.append(frag);
        if (end < work.length) requestAnimationFrame(() => add(end));
        else if (refresh) drawSparks(0);
        else afterPaint(() => drawSparks(0));
      };
      const drawSparks = (from) => {
        if (my !== gen) return;
        const end = Math.min(spark.length, from + chunk);
        for (let i = from; i < end; i++) sparks(spark[i][0], spark[i][1]);
        if (end < spark.length) afterPaint(() => drawSparks(end));
        else {
          tbl.dataset.sparks = 'drawn';
          if (refresh) nodesBox.replaceChildren(tbl);
        }
      };
      if (!work.length) {
        nodesBox.replaceChildren(h('p', {class: 'empty'}, ov.nodes.length ? 'No node matches.' : 'No managed nodes yet.'));
        return;
      }
      if (!performance.getEntriesByName(firstPaintMark).length) {
        // After the frame that paints the first rows (and before the
        // sparklines, which wait for that paint too).
        afterPaint(() => performance.mark(firstPaintMark));
      }
      add(0);
      if (!refresh) nodesBox.replaceChildren(tbl);
    };

    const refreshStates = () => {
      const have = [...new Set(ov.nodes.map(n => n.state))].sort();
      const cur = stateSel.value || init.state;
      stateSel.replaceChildren(h('option', {value: ''}, 'any'), ...have.map(s => h('option', {value: s, selected: s === cur}, s)));
      if (cur && !have.includes(cur)) stateSel.append(h('option', {value: cur, selected: true}, cur));
    };

    let typing = 0;
    search.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => { keepInURL(); if (ov) renderNodes(); }, ov && ov.nodes.length > 2000 ? 150 : 0);
    });
    for (const sel of [stateSel, sevSel]) sel.addEventListener('change', () => { keepInURL(); if (ov) renderNodes(); });
    ctx.onLeave(() => { gen++; clearTimeout(typing); });

    ctx.every(10000, async () => {
      try {
        ov = await api.get('/api/v1/overview');
      } catch (e) {
        status.replaceChildren(errorBox(e));
        return;
      }
      status.replaceChildren();
      refreshStates();
      renderNodes(true);
      sumBox.replaceChildren(ov.clusters.length ? summary(ov) : h('p', {class: 'empty'}, 'No managed nodes yet.'));
    });
  },
};
