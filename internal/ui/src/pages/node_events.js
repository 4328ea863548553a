// The Node page's Notifications and Alarms tabs: the node's recent
// notifications (GET /api/v1/notifications?node=) and its alarms, active
// and past (GET /api/v1/alarms?node=).
import {h, table, link, errorBox} from '../lib/dom.js';
import {api} from '../lib/api.js';
import * as fmt from '../lib/format.js';

const limit = 50;

// sev is a severity badge (error is styled as major; info plainly).
function sev(s) {
  const cls = {critical: 'critical', error: 'major', major: 'major', minor: 'minor', warning: 'warning'}[s];
  return s ? h('span', {class: 'badge' + (cls ? ' sev-' + cls : '')}, s) : '';
}

export const notifications = {
  id: 'notifications',
  label: 'Notifications',
  role: 'viewer',
  async render(panel, {node}) {
    try {
      const ns = await api.get('/api/v1/notifications', {node, limit});
      panel.append(table([
        {label: 'Time', value: n => fmt.time(n.time)},
        {label: 'Kind', value: n => n.kind},
        {label: 'Severity', value: n => sev(n.severity)},
        {label: 'Text', value: n => h('pre', {}, n.text)},
      ], ns, {caption: `The node's ${ns.length} most recent notifications`, empty: 'No notification from this node.'}),
      h('p', {}, link('/ui/notifications?node=' + encodeURIComponent(node), 'All notifications of this node')));
    } catch (e) {
      panel.append(errorBox(e));
    }
  },
};

export const alarms = {
  id: 'alarms',
  label: 'Alarms',
  role: 'viewer',
  async render(panel, {node}) {
    try {
      const as = await api.get('/api/v1/alarms', {node, limit});
      panel.append(table([
        {label: 'Raised', value: a => link('/ui/alarms/' + a.id, fmt.time(a.raised_at))},
        {label: 'Rule', value: a => a.rule, cls: () => 'mono'},
        {label: 'Severity', value: a => sev(a.severity)},
        {label: 'State', value: a => a.active ? (a.acked_by ? 'active, acknowledged' : 'active') : 'cleared ' + fmt.ago(a.cleared_at)},
        {label: 'Description', value: a => a.description},
      ], as, {caption: `The node's ${as.length} most recent alarms`, empty: 'No alarm on this node.'}),
      h('p', {}, link('/ui/alarms?node=' + encodeURIComponent(node), 'Alarms of this node on the Alarms page')));
    } catch (e) {
      panel.append(errorBox(e));
    }
  },
};
