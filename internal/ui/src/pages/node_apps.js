// The Node page's Applications tab: applications loaded and running, with
// versions (the registry's apps tool).
import {h, table} from '../lib/dom.js';
import {runTool} from './node_tool.js';

export default {
  id: 'apps',
  label: 'Applications',
  role: 'operator',
  async render(panel, {node}) {
    const out = h('div', {class: 'tool-out'});
    panel.append(out);
    await runTool(out, node, 'apps', {}, d => table([
      {label: 'Application', value: a => a.name, cls: () => 'mono'},
      {label: 'Version', value: a => a.version},
      {label: 'State', value: a => h('span', {class: 'badge' + (a.running ? ' sev-ok' : '')}, a.running ? 'running' : 'loaded')},
      {label: 'Description', value: a => a.description},
    ], [...d.applications].sort((a, b) => (b.running - a.running) || a.name.localeCompare(b.name)),
    {caption: `${d.applications.filter(a => a.running).length} running of ${d.applications.length} loaded`}));
  },
};
