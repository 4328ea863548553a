// The Node page's msacc tab: microstate accounting over a short window,
// per thread type (the registry's msacc tool, when the API runs it).
import {h, table} from '../lib/dom.js';
import {runTool} from './node_tool.js';

const state = {duration: '2s'};

export default {
  id: 'msacc',
  label: 'msacc',
  role: 'operator',
  async render(panel, {node}) {
    const out = h('div', {class: 'tool-out'});
    const run = () => runTool(out, node, 'msacc', {duration: state.duration}, d => {
      const states = d.states || [];
      return table([
        {label: 'Thread type', value: r => r.type, cls: () => 'mono'},
        {label: 'Threads', value: r => String(r.threads || ''), num: true},
        ...states.map(s => ({label: s, value: r => ((r.percent || {})[s] || 0).toFixed(1) + ' %', num: true})),
      ], d.types || [], {caption: `Share of wall time per state over ${d.duration_seconds} s`});
    });
    const form = h('form', {class: 'row tool-form', onsubmit: e => {
      e.preventDefault();
      state.duration = new FormData(form).get('duration');
      run();
    }},
    h('label', {}, 'Measure for ', h('select', {name: 'duration'}, ['1s', '2s', '5s'].map(v => h('option', {value: v, selected: v === state.duration}, v)))),
    h('button', {type: 'submit'}, 'Run'));
    panel.append(form, out);
    await run();
    if (out.querySelector('.tool-off')) form.remove();
  },
};
