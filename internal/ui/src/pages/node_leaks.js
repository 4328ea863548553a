// The Node page's Binary leaks tab: the processes holding the most refc
// binary memory, before and after a garbage collection (the registry's
// leaks tool, when the API runs it).
import {h, table, link} from '../lib/dom.js';
import * as fmt from '../lib/format.js';
import {runTool, processHref} from './node_tool.js';

export default {
  id: 'leaks',
  label: 'Binary leaks',
  role: 'operator',
  async render(panel, {node}) {
    const out = h('div', {class: 'tool-out'});
    panel.append(out);
    await runTool(out, node, 'leaks', {n: 10}, d => table([
      {label: 'Pid', value: p => link(processHref(node, p.pid), p.pid), cls: () => 'mono'},
      {label: 'Name', value: p => p.registered_name || ''},
      {label: 'Binaries before', value: p => fmt.bytes(p.before.binary_bytes), num: true},
      {label: 'After GC', value: p => d.gc ? fmt.bytes(p.after.binary_bytes) : '–', num: true},
      {label: 'Refs before', value: p => fmt.num(p.before.binary_refs), num: true},
      {label: 'Heap before', value: p => fmt.bytes(p.before.heap_bytes), num: true},
    ], d.processes, {caption: 'Processes holding the most refc binary memory', empty: 'No process holds refc binaries.'}));
  },
};
