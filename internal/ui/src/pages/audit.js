// The Audit page (admin): the server's audit trail, newest first, with
// the API's filters (who, action, node, since, until) in the URL's query,
// paged by time (older: until the oldest shown), and the log's head. The
// API does not verify the chain (beamctl audit verify does, on the
// server); the page checks the links between the records it shows.
import {h, table, section, errorBox} from '../lib/dom.js';
import {api} from '../lib/api.js';
import {navigate} from '../lib/router.js';
import {time} from '../lib/format.js';

const keys = ['who', 'action', 'node', 'since', 'until', 'limit'];

function localInput(s) {
  const d = new Date(s);
  if (isNaN(d)) return '';
  const p = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function url(q) {
  const p = new URLSearchParams();
  for (const k of keys) if (q[k]) p.set(k, q[k]);
  return '/ui/audit' + (p.toString() ? '?' + p : '');
}

function filterForm(q) {
  const field = (name, label, attrs) => h('label', {for: 'af-' + name}, label, ' ',
    h('input', {id: 'af-' + name, name, value: q.get(name) || '', size: 16, ...attrs}));
  const form = h('form', {class: 'filters row', role: 'search', 'aria-label': 'Filter audit records',
    onsubmit(e) {
      e.preventDefault();
      const v = {};
      for (const k of keys) {
        if (!form.elements[k]) { v[k] = q.get(k); continue; } // limit: kept from the URL
        const s = form.elements[k].value.trim();
        if (s) v[k] = k === 'since' || k === 'until' ? new Date(s).toISOString() : s;
      }
      navigate(url(v));
    }},
    field('who', 'Who', {}),
    field('action', 'Action', {placeholder: 'e.g. token or token.create', size: 24}),
    field('node', 'Node', {}),
    h('label', {for: 'af-since'}, 'Since ', h('input', {id: 'af-since', name: 'since', type: 'datetime-local', step: 1,
      value: q.get('since') ? localInput(q.get('since')) : ''})),
    h('label', {for: 'af-until'}, 'Until ', h('input', {id: 'af-until', name: 'until', type: 'datetime-local', step: 1,
      value: q.get('until') ? localInput(q.get('until')) : ''})),
    h('button', {type: 'submit'}, 'Filter'),
    h('a', {href: '/ui/audit', class: 'button ghost'}, 'Clear'));
  return form;
}

// links checks, for records shown with consecutive seqs, that each one's
// prev is the hash of the one before it.
function links(recs) {
  let checked = 0;
  const broken = [];
  for (let i = 0; i + 1 < recs.length; i++) {
    if (recs[i].seq !== recs[i + 1].seq + 1) continue;
    checked++;
    if (recs[i].prev !== recs[i + 1].hash) broken.push(recs[i].seq);
  }
  return {checked, broken};
}

function outcome(r) {
  const o = r.outcome || '';
  const cls = o === 'ok' ? 'sev-ok' : o === 'started' || o === '' ? '' : 'sev-critical';
  return h('span', {class: 'badge ' + cls}, o || '–');
}

export default {
  title: 'Audit',
  role: 'admin',
  async render(root, params, ctx) {
    const q = ctx.query;
    root.append(h('h1', {}, 'Audit'), section('Filter', filterForm(q)));
    // limit (the page's size, 100 unless the URL says) is not in the form.
    const pageSize = Math.min(Math.max(parseInt(q.get('limit'), 10) || 100, 1), 1000);
    let page;
    try {
      const f = {limit: pageSize};
      for (const k of keys) if (q.get(k) && k !== 'limit') f[k] = q.get(k);
      page = await api.get('/api/v1/audit', f);
    } catch (e) {
      root.append(errorBox(e));
      return;
    }
    const recs = page.records || [];
    const head = page.head || {};
    const {checked, broken} = links(recs);
    const newest = !q.get('until') && !q.get('who') && !q.get('action') && !q.get('node');
    const headOK = newest && recs.length ? recs[0].seq === head.seq && recs[0].hash === head.hash : null;
    root.append(section('Chain',
      h('dl', {class: 'kv'},
        h('dt', {}, 'Head'), h('dd', {class: 'mono', id: 'audit-head'}, head.seq ? `seq ${head.seq}, ${head.hash}` : 'no record yet'),
        h('dt', {}, 'Links shown'), h('dd', {id: 'audit-links'}, broken.length
          ? h('span', {class: 'badge sev-critical'}, `broken before seq ${broken.join(', ')}`)
          : [h('span', {class: 'badge sev-ok'}, 'consistent'), ` (${checked} checked${headOK === null ? '' : headOK ? '; the newest is the head' : '; the newest is NOT the head'})`])),
      h('p', {class: 'muted'}, 'The page checks that each record shown names the hash of the one before it. ',
        'The hashes themselves are verified on the server with ', h('code', {}, 'beamctl audit verify'), '.')));

    const more = recs.length === pageSize;
    const cur = Object.fromEntries(keys.map(k => [k, q.get(k)]));
    const pager = h('nav', {class: 'row pager', 'aria-label': 'Audit pages'},
      q.get('until') ? h('a', {href: url({...cur, until: null})}, '« Newest') : null,
      more ? h('a', {href: url({...cur, until: recs[recs.length - 1].time}), rel: 'next'}, 'Older »') : null,
      h('span', {class: 'muted'}, `${recs.length} record${recs.length === 1 ? '' : 's'}${more ? ' (a page)' : ''}`));
    const args = r => Object.entries(r.args || {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => h('div', {class: 'mono'}, `${k}=${v}`));
    root.append(h('section', {class: 'card', 'aria-label': 'Records'}, h('h2', {}, 'Records'), pager,
      table([
        {label: 'Seq', num: true, value: r => String(r.seq)},
        {label: 'Time', value: r => time(r.time)},
        {label: 'Who', value: r => [r.who, r.role ? h('span', {class: 'muted'}, ' (' + r.role + ')') : null]},
        {label: 'From', value: r => h('span', {class: 'mono'}, r.from || '')},
        {label: 'Action', value: r => h('span', {class: 'mono'}, r.action)},
        {label: 'Node', value: r => r.node || ''},
        {label: 'Arguments', value: args},
        {label: 'Outcome', value: r => [outcome(r), r.ref ? h('span', {class: 'muted'}, ` of ${r.ref}`) : null, r.note ? ' ' + r.note : null]},
      ], recs, {empty: 'No audit record matches.', rowAttrs: r => ({dataset: {action: r.action}})})));
  },
};
