// The Node page's ETS tab: the largest tables (the registry's ets tool).
import {h, table, link} from '../lib/dom.js';
import * as fmt from '../lib/format.js';
import {tools, runTool, processHref} from './node_tool.js';

const state = {sort: 'memory', n: '20', match: ''};

export default {
  id: 'ets',
  label: 'ETS',
  role: 'operator',
  async render(panel, {node}) {
    const tool = (await tools()).get('ets') || {};
    const out = h('div', {class: 'tool-out'});
    const run = () => runTool(out, node, 'ets', {sort: state.sort, n: state.n, match: state.match}, d => table([
      {label: 'Name', value: t => t.name, cls: () => 'mono'},
      {label: 'Id', value: t => t.id, cls: () => 'mono'},
      {label: 'Owner', value: t => t.owner ? link(processHref(node, t.owner), t.owner) : '', cls: () => 'mono'},
      {label: 'Type', value: t => t.type},
      {label: 'Protection', value: t => t.protection},
      {label: 'Objects', value: t => fmt.num(t.size), num: true},
      {label: 'Memory', value: t => fmt.bytes(t.memory_bytes), num: true},
    ], d.tables, {caption: `The ${d.tables.length} largest tables by ${state.sort}`, empty: 'No table matches.'}));
    const form = h('form', {class: 'row tool-form', onsubmit: e => {
      e.preventDefault();
      const f = new FormData(form);
      state.sort = f.get('sort'); state.n = f.get('n'); state.match = f.get('match');
      run();
    }},
    h('label', {}, 'Sort by ', h('select', {name: 'sort'}, ['memory', 'size'].map(c => h('option', {value: c, selected: c === state.sort}, c)))),
    h('label', {}, 'Count ', h('input', {name: 'n', type: 'number', min: 1, max: 1000, value: state.n, size: 5})),
    h('label', {}, 'Name contains ', h('input', {name: 'match', type: 'search', value: state.match})),
    h('button', {type: 'submit'}, 'Run'));
    panel.append(h('p', {class: 'muted'}, tool.summary || ''), form, out);
    await run();
  },
};
