// The Node page's Allocators tab: erl_alloc carriers vs blocks per type and
// the most fragmented instances (the registry's alloc tool).
import {h, table} from '../lib/dom.js';
import * as fmt from '../lib/format.js';
import {runTool} from './node_tool.js';

function util(s) {
  const p = s.util_percent;
  const cls = p < 50 && s.allocated_bytes >= (1 << 20) ? 'frag' : null;
  return h('span', {class: cls}, p == null ? '–' : p.toFixed(1) + ' %');
}

const cols = (withInstance) => [
  {label: 'Allocator', value: s => s.type, cls: () => 'mono'},
  withInstance ? {label: 'Instance', value: s => String(s.instance), num: true} : null,
  {label: 'Strategy', value: s => s.strategy || ''},
  {label: 'Carriers', value: s => fmt.bytes(s.allocated_bytes), num: true},
  {label: 'Blocks (used)', value: s => fmt.bytes(s.used_bytes), num: true},
  {label: 'Free in carriers', value: s => fmt.bytes(s.free_bytes), num: true},
  {label: 'Blocks', value: s => fmt.num(s.blocks), num: true},
  {label: 'Average block', value: s => fmt.bytes(s.avg_block_bytes), num: true},
  {label: 'Used / carriers', value: util, num: true},
].filter(Boolean);

export default {
  id: 'alloc',
  label: 'Memory allocators',
  role: 'operator',
  async render(panel, {node}) {
    const out = h('div', {class: 'tool-out'});
    panel.append(h('p', {class: 'muted'}, 'Carriers are what the VM holds from the OS; blocks what is in use in them. ',
      'A low used share in a large allocator is fragmentation (recon_alloc:fragmentation).'), out);
    await runTool(out, node, 'alloc', {}, d => h('div', {},
      table(cols(false), [...d.types, d.total], {caption: 'Per allocator type (all instances)'}),
      h('h3', {}, 'Most fragmented instances'),
      table(cols(true), d.fragmented || [], {caption: 'Instances of at least 1 MiB with the lowest used share', empty: 'No instance of 1 MiB or more.'})));
  },
};
