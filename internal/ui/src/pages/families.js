// The Families / code page: per family (nodes that should run the same
// code), what differs between its nodes first: the modules loaded with
// different md5s (the AXD301 story: one node patched by hand, the others
// not), the applications' versions, and OTP and release per node. It reads
// GET /api/v1/families and, per family, GET /api/v1/families/{cluster}/
// {family}/code, which compares what the server already holds (no call to
// the nodes); differing cells have the .diff class.
import {h, replace, section, errorBox, link} from '../lib/dom.js';
import {api} from '../lib/api.js';

const enc = encodeURIComponent;

// majority returns the most common non-empty value of vals, or null when
// no value is more common than every other (then every cell differs).
export function majority(vals) {
  const counts = new Map();
  for (const v of vals) if (v) counts.set(v, (counts.get(v) || 0) + 1);
  let best = null, n = 0, tie = false;
  for (const [v, c] of counts) {
    if (c > n) { best = v; n = c; tie = false; } else if (c === n) tie = true;
  }
  return tie ? null : best;
}

function nodeHeader(node, state) {
  const [name, host] = node.split('@');
  return h('th', {scope: 'col', class: 'node-col'},
    link('/ui/nodes/' + enc(node), name, host ? h('span', {class: 'host'}, '@' + host) : null),
    state && state !== 'up' ? h('span', {class: 'badge sev-major', title: 'the figures are its last readings'}, state) : null);
}

// matrix is a table with a row per key and a column per node; a cell that
// differs from its row's most common value is highlighted (.diff), and a
// row with differences gets .differs.
function matrix({caption, rowLabel, nodes, states = {}, rows, cell, value}) {
  return h('div', {class: 'table-wrap'},
    h('table', {class: 'matrix'},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, rowLabel), nodes.map(n => nodeHeader(n, states[n])))),
      h('tbody', {}, rows.map(r => {
        const vals = nodes.map(n => value(r, n));
        const differs = new Set(vals.filter(Boolean)).size > 1 || (vals.some(v => !v) && vals.some(Boolean) && r.strict);
        const maj = majority(vals);
        return h('tr', {class: differs ? 'differs' : null},
          h('th', {scope: 'row', class: 'mono'}, r.label),
          nodes.map((n, i) => {
            const v = vals[i];
            const diff = differs && (v || r.strict) && (!maj || v !== maj);
            return h('td', {class: [diff ? 'diff' : '', 'mono'].join(' ').trim(), title: diff ? 'differs' : null}, cell(r, n, v, diff));
          }));
      }))));
}

function legend() {
  return h('p', {class: 'legend muted'},
    h('span', {class: 'swatch diff', 'aria-hidden': 'true'}), ' differs from the family\'s most common value (all cells of a row when no value is most common) · ',
    h('span', {class: 'mono'}, '–'), ' not loaded / not running · ',
    h('span', {class: 'badge'}, 'old'), ' old code loaded too (not purged)');
}

function familyBlock(f, code) {
  const nodes = code.nodes.map(n => n.node);
  const states = Object.fromEntries(code.nodes.map(n => [n.node, n.state]));
  const unread = code.nodes.filter(n => !n.read).map(n => n.node);
  const otps = new Set(code.nodes.map(n => n.otp_release).filter(Boolean));
  const rels = new Set(code.nodes.map(n => n.release).filter(Boolean));
  const appDiffs = code.applications.filter(a => a.differs);
  const summary = h('ul', {class: 'family-summary'},
    h('li', {class: code.modules.length ? 'bad' : 'good'}, code.modules.length
      ? `${code.modules.length} module${code.modules.length > 1 ? 's' : ''} differ${code.modules.length > 1 ? '' : 's'} between nodes`
      : `Same code: all ${code.modules_compared} modules loaded on more than one node have the same md5`,
    code.modules.length ? ` (${code.modules_same} of ${code.modules_compared} compared are the same)` : ''),
    h('li', {class: appDiffs.length ? 'bad' : 'good'}, appDiffs.length
      ? `${appDiffs.length} application${appDiffs.length > 1 ? 's' : ''} in different versions or not running everywhere`
      : `Same applications and versions (${code.applications.length})`),
    h('li', {class: otps.size > 1 || rels.size > 1 ? 'bad' : 'good'},
      `OTP ${[...otps].join(', ') || '–'}; release ${[...rels].join(', ') || '–'}`),
    unread.length ? h('li', {class: 'muted'}, `No reading of the loaded modules yet: ${unread.join(', ')}`) : null,
    code.nodes_total > nodes.length ? h('li', {class: 'muted'}, `The first ${nodes.length} of ${code.nodes_total} nodes are compared.`) : null);

  const runtime = matrix({caption: 'OTP and release per node', rowLabel: 'Version', nodes, states,
    rows: [{label: 'OTP release', key: 'otp_release', strict: true}, {label: 'Release', key: 'release', strict: true}],
    value: (r, n) => (code.nodes.find(x => x.node === n) || {})[r.key] || '',
    cell: (r, n, v) => v || '–'});

  const modules = code.modules.length ? matrix({caption: 'Modules whose md5 differs between nodes (short md5; hover for the whole)',
    rowLabel: 'Module', nodes, states,
    rows: code.modules.map(m => ({label: m.module, m})),
    value: (r, n) => r.m.md5[n] || '',
    cell: (r, n, v) => v ? [h('span', {title: v}, v.slice(0, 8)), r.m.old.includes(n) ? [' ', h('span', {class: 'badge', title: 'old code loaded too'}, 'old')] : null] : '–',
  }) : h('p', {class: 'empty'}, 'No module differs.');

  const appRows = code.applications.map(a => ({label: a.application, a, strict: true}));
  const appMatrix = rows => matrix({caption: 'Application versions per node', rowLabel: 'Application', nodes, states, rows,
    value: (r, n) => r.a.versions[n] || '', cell: (r, n, v) => v || '–'});
  const diffRows = appRows.filter(r => r.a.differs), sameRows = appRows.filter(r => !r.a.differs);
  const apps = [
    diffRows.length ? appMatrix(diffRows) : h('p', {class: 'empty'}, 'No application differs.'),
    sameRows.length ? h('details', {class: 'same-apps'}, h('summary', {}, `${sameRows.length} application${sameRows.length > 1 ? 's' : ''} the same on every node`), appMatrix(sameRows)) : null,
  ];

  return section(`${f.family} · ${f.cluster}`,
    h('p', {class: 'muted'}, `${nodes.length} node${nodes.length > 1 ? 's' : ''}`),
    summary,
    h('h3', {}, 'Modules'), modules,
    h('h3', {}, 'Applications'), apps,
    h('h3', {}, 'OTP and release'), runtime);
}

export default {
  title: 'Families',
  async render(root, _params, ctx) {
    const body = h('div', {class: 'families'});
    root.append(h('h1', {}, 'Families'),
      h('p', {class: 'muted'}, 'Nodes of a family should run the same code. What differs is shown first; the server compares its last readings (the code poll\'s md5s, the last collection\'s applications).'),
      legend(), body);
    ctx.every(30000, async () => {
      const open = new Set([...body.querySelectorAll('details[open]')].map(d => d.dataset.key));
      let fams;
      try {
        fams = await api.get('/api/v1/families');
      } catch (e) {
        replace(body, errorBox(e));
        return;
      }
      if (!fams.length) {
        replace(body, h('p', {class: 'empty'}, 'No family yet: a node joins its family once collected.'));
        return;
      }
      const blocks = await Promise.all(fams.map(async f => {
        try {
          const code = await api.get(`/api/v1/families/${enc(f.cluster)}/${enc(f.family)}/code`);
          return {f, code, el: familyBlock(f, code)};
        } catch (e) {
          return {f, code: null, el: section(`${f.family} · ${f.cluster}`, errorBox(e))};
        }
      }));
      // Families with differences first.
      const weight = b => b.code ? b.code.modules.length * 1000 + b.code.applications.filter(a => a.differs).length : 1e9;
      blocks.sort((a, b) => weight(b) - weight(a));
      for (const b of blocks) {
        const key = b.f.cluster + '\u0000' + b.f.family;
        b.el.dataset.family = b.f.family;
        b.el.dataset.cluster = b.f.cluster;
        for (const d of b.el.querySelectorAll('details')) {
          d.dataset.key = key;
          if (open.has(key)) d.open = true;
        }
      }
      replace(body, blocks.map(b => b.el));
    });
  },
};
