// The Node page's Processes tab: the top processes by an attribute,
// absolute or over a window (the registry's top tool); a row opens the
// process.
import {h, table, link} from '../lib/dom.js';
import * as fmt from '../lib/format.js';
import * as syntax from '../lib/syntax.js';
import {tools, param, runTool, processHref} from './node_tool.js';

// The form's last values, kept while the page lives (Refresh reruns them).
const state = {by: 'reductions', n: '20', window: '0s'};

const windows = [['0s', 'absolute'], ['1s', 'over 1 s'], ['5s', 'over 5 s'], ['10s', 'over 10 s'], ['30s', 'over 30 s']];

function value(by, v) {
  return by === 'memory' || by === 'binary_memory' ? fmt.bytes(v) : fmt.num(v);
}

export default {
  id: 'processes',
  label: 'Processes',
  role: 'operator',
  async render(panel, {node}) {
    const tool = (await tools()).get('top') || {params: []};
    const by = param(tool, 'by'), n = param(tool, 'n');
    const out = h('div', {class: 'tool-out'});
    const run = () => runTool(out, node, 'top', {by: state.by, n: state.n, window: state.window}, d => {
      const sp = syntax.speller(syntax.elixir(d.processes.some(p => syntax.isElixir(p.registered_name, p.current_function, p.initial_call))));
      return table([
      {label: 'Pid', value: p => link(processHref(node, p.pid), sp.pid(p.pid)), cls: () => 'mono'},
      {label: 'Name', value: p => p.registered_name ? sp.name(p.registered_name) : ''},
      {label: (d.window_seconds ? 'Δ ' : '') + d.by + (d.by === 'total_heap_size' ? ' (words)' : ''), value: p => value(d.by, p.value), num: true},
      {label: 'Current function', value: p => sp.name(p.current_function), cls: () => 'mono'},
      {label: 'Initial call', value: p => sp.name(p.initial_call), cls: () => 'mono'},
    ], d.processes, {caption: `Top ${d.processes.length} processes by ${d.by}` + (d.window_seconds ? ` over ${d.window_seconds} s` : ''),
      empty: 'No processes.'});
    });
    const form = h('form', {class: 'row tool-form', onsubmit: e => {
      e.preventDefault();
      const f = new FormData(form);
      state.by = f.get('by'); state.n = f.get('n'); state.window = f.get('window');
      run();
    }},
    h('label', {}, 'By ', h('select', {name: 'by'}, (by.choices || ['reductions']).map(c => h('option', {value: c, selected: c === state.by}, c)))),
    h('label', {}, 'Count ', h('input', {name: 'n', type: 'number', min: n.min || 1, max: Math.min(n.max || 1000, 1000), value: state.n, size: 5})),
    h('label', {}, 'Measure ', h('select', {name: 'window'}, windows.map(([v, l]) => h('option', {value: v, selected: v === state.window}, l)))),
    h('button', {type: 'submit'}, 'Run'));
    panel.append(h('p', {class: 'muted'}, tool.summary || ''), form, out);
    await run();
  },
};
