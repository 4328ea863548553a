// The Node page's Ports tab. The tool registry has no live ports or
// sockets tool yet, so this tab shows the ports collector's latest reading
// (per driver: open ports, output queued) and the host's sockets.
import {h, table, errorBox} from '../lib/dom.js';
import {instant} from '../lib/api.js';
import * as fmt from '../lib/format.js';
import {sel} from './node_charts.js';

export default {
  id: 'ports',
  label: 'Ports',
  role: 'viewer',
  async render(panel, {node}) {
    const s = sel(node);
    try {
      const [count, queue, queued, host] = await Promise.all([
        instant(`erlang_vm_ports_by_driver{${s}}`),
        instant(`erlang_vm_port_queue_bytes{${s}}`),
        instant(`erlang_vm_ports_with_queued_output{${s}}`),
        instant(`{__name__=~"erlang_vm_os_open_fds|erlang_vm_os_max_fds|erlang_vm_os_tcp_connections_established",${s}}`),
      ]);
      const by = (res) => new Map(res.map(r => [r.metric.driver, Number(r.value[1])]));
      const q = by(queue), qd = by(queued);
      const rows = count.map(r => ({driver: r.metric.driver, ports: Number(r.value[1]), queue: q.get(r.metric.driver), queued: qd.get(r.metric.driver)}))
        .sort((a, b) => b.ports - a.ports);
      const hv = new Map(host.map(r => [r.metric.__name__, Number(r.value[1])]));
      panel.append(
        h('p', {class: 'muted'}, 'From the ports collector\'s latest reading; the tool registry has no live ports or sockets tool yet.'),
        table([
          {label: 'Driver', value: r => r.driver, cls: () => 'mono'},
          {label: 'Open ports', value: r => fmt.num(r.ports), num: true},
          {label: 'Ports with output queued', value: r => fmt.num(r.queued), num: true},
          {label: 'Output queued', value: r => fmt.bytes(r.queue), num: true},
        ], rows, {caption: 'Ports by driver', empty: 'No port reading for this node.'}),
        h('p', {}, 'VM file descriptors: ', fmt.num(hv.get('erlang_vm_os_open_fds')), ' open of ', fmt.num(hv.get('erlang_vm_os_max_fds')),
          '; host TCP connections established: ', fmt.num(hv.get('erlang_vm_os_tcp_connections_established')), '.'));
    } catch (e) {
      panel.append(errorBox(e));
    }
  },
};
