// The Deploys page: the slow-roll deploys, newest first, and (for admins)
// the form that plans one from .beam files (docs/deploy.md).
import {h, replace, table, link, section, errorBox} from '../lib/dom.js';
import {api, can} from '../lib/api.js';
import {navigate} from '../lib/router.js';
import {time} from '../lib/format.js';
import {stateBadge, scope, modules} from '../lib/deploys.js';

// base64 of an ArrayBuffer, in chunks (a module can be a few MB).
function base64(buf) {
  const bytes = new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function planForm(families, notice) {
  const clusters = [...new Set(families.map(f => f.cluster))].sort();
  const field = (id, label, input, hint) => h('div', {class: input.tagName === 'TEXTAREA' ? 'field wide' : 'field'}, h('label', {for: id}, label), input,
    hint ? h('span', {class: 'muted hint'}, hint) : null);
  const famSelect = h('select', {id: 'dp-family', name: 'family'});
  const fillFamilies = cluster => replace(famSelect, h('option', {value: ''}, 'every node of the cluster'),
    families.filter(f => f.cluster === cluster).map(f => h('option', {value: f.family}, `${f.family} (${f.nodes.length} nodes)`)));
  const clusterSelect = h('select', {id: 'dp-cluster', name: 'cluster', required: true, onchange: e => fillFamilies(e.target.value)},
    clusters.map(c => h('option', {value: c}, c)));
  fillFamilies(clusters[0]);
  if (families.some(f => f.cluster === clusters[0])) famSelect.selectedIndex = 1;
  const form = h('form', {class: 'plan-form', 'aria-label': 'Plan a deploy',
    async onsubmit(e) {
      e.preventDefault();
      const el = form.elements;
      const files = [...el.beams.files];
      try {
        if (!files.length) throw new Error('Choose the .beam files of the modules to deploy.');
        const mods = await Promise.all(files.map(async f => ({file: f.name, beam: base64(await f.arrayBuffer())})));
        const gates = el.gates.value.split('\n').map(l => l.trim()).filter(Boolean).map(l => {
          const i = l.indexOf('=');
          if (i < 1) throw new Error(`Gate “${l}”: write name=expr.`);
          return {name: l.slice(0, i).trim(), expr: l.slice(i + 1).trim()};
        });
        const d = await api.postJSON('/api/v1/deploys', {cluster: el.cluster.value, family: el.family.value, modules: mods,
          options: {by: el.by.value.trim(), bake: el.bake.value.trim(), check_every: el.every.value.trim(), severity: el.severity.value,
            force: el.force.checked, purge_wait: el.purge.value.trim(), ignore_mismatch: el.mismatch.checked, gates}});
        navigate('/ui/deploys/' + encodeURIComponent(d.id));
      } catch (err) {
        replace(notice, errorBox(err));
      }
    }},
  h('div', {class: 'form-grid'},
    field('dp-cluster', 'Cluster', clusterSelect),
    field('dp-family', 'Family', famSelect),
    field('dp-beams', 'Modules', h('input', {id: 'dp-beams', name: 'beams', type: 'file', accept: '.beam', multiple: true, required: true}),
      'compiled .beam files'),
    field('dp-by', 'Waves by label', h('input', {id: 'dp-by', name: 'by', value: 'dc', size: 10})),
    field('dp-bake', 'Bake per wave', h('input', {id: 'dp-bake', name: 'bake', value: '5m', size: 6})),
    field('dp-every', 'Check gates every', h('input', {id: 'dp-every', name: 'every', value: '5s', size: 6})),
    field('dp-severity', 'Fail on new alarms from', h('select', {id: 'dp-severity', name: 'severity'},
      ['warning', 'minor', 'major', 'critical'].map(s => h('option', {value: s, selected: s === 'major'}, s)))),
    field('dp-purge', 'Purge wait', h('input', {id: 'dp-purge', name: 'purge', value: '10s', size: 6})),
    field('dp-force', 'Kill processes in old code', h('input', {id: 'dp-force', name: 'force', type: 'checkbox'})),
    field('dp-mismatch', 'Go on despite a version mismatch alarm', h('input', {id: 'dp-mismatch', name: 'mismatch', type: 'checkbox'})),
    field('dp-gates', 'PromQL gates', h('textarea', {id: 'dp-gates', name: 'gates', rows: 2, cols: 50,
      placeholder: 'name=expr, one a line; $nodes: the deployed nodes'}))),
  h('p', {class: 'muted'}, 'A plan changes nothing on the nodes: review it, then start it from its page.'),
  h('button', {type: 'submit'}, 'Plan'));
  return form;
}

export default {
  title: 'Deploys',
  async render(root, params, ctx) {
    const notice = h('div', {'aria-live': 'assertive'});
    const list = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
    root.append(h('h1', {}, 'Deploys'), notice);
    if (can('admin')) {
      try {
        const fams = await api.get('/api/v1/families');
        root.append(section('Plan a deploy', planForm(fams, notice)));
      } catch (e) {
        notice.append(errorBox(e));
      }
    }
    root.append(section('Deploys', list));
    ctx.every(10000, async () => {
      try {
        const ds = await api.get('/api/v1/deploys');
        replace(list, table([
          {label: 'Deploy', value: d => link('/ui/deploys/' + encodeURIComponent(d.id), d.id)},
          {label: 'State', value: d => stateBadge(d.state)},
          {label: 'Scope', value: d => scope(d)},
          {label: 'Modules', value: d => modules(d)},
          {label: 'Nodes', value: d => d.nodes.length, num: true},
          {label: 'Wave', value: d => `${Math.min(d.wave + 1, d.waves.length)} of ${d.waves.length}`},
          {label: 'Planned', value: d => time(d.created)},
          {label: 'By', value: d => d.started_by || d.created_by},
        ], ds, {empty: 'No deploy yet.', rowAttrs: d => ({dataset: {deploy: d.id}})}));
      } catch (e) {
        replace(list, errorBox(e));
      }
    });
  },
};
