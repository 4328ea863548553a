// The Overview page (a first cut: the nodes of /api/v1/nodes).
import {h, table, link} from '../lib/dom.js';
import {api} from '../lib/api.js';
import * as fmt from '../lib/format.js';

export default {
  title: 'Overview',
  render(root, params, ctx) {
    const body = h('div');
    root.append(h('h1', {}, 'Overview'), body);
    ctx.every(10000, async () => {
      const nodes = await api.get('/api/v1/nodes');
      body.replaceChildren(table([
        {label: 'Node', value: n => link('/ui/nodes/' + encodeURIComponent(n.node), n.node)},
        {label: 'Cluster', value: n => n.cluster},
        {label: 'Family', value: n => n.family || ''},
        {label: 'State', value: n => n.state},
        {label: 'OTP', value: n => n.otp_release || ''},
        {label: 'Uptime', value: n => fmt.duration(n.uptime_seconds), num: true},
      ], nodes, {caption: 'Managed nodes', empty: 'No managed nodes yet.'}));
    });
  },
};
