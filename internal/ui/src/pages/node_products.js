// The Node page's product tabs (the registry's rabbitmq, mnesia and
// ejabberd tools): shown only on a node whose collectors stored the
// product's series, in the product's own terms.
import {h, table} from '../lib/dom.js';
import * as fmt from '../lib/format.js';
import {tools, runTool} from './node_tool.js';

const facts = (...items) => h('dl', {class: 'node-facts'}, items.filter(Boolean).map(([label, value]) => h('div', {}, h('dt', {}, label), h('dd', {}, value))));
const list = xs => xs && xs.length ? xs.join(', ') : 'none';

const rabbitState = {by: 'messages', n: '10'};

export const rabbitmq = {
  id: 'rabbitmq',
  label: 'RabbitMQ',
  role: 'operator',
  series: 'rabbitmq_identity_info',
  async render(panel, {node}) {
    const tool = (await tools()).get('rabbitmq') || {};
    const out = h('div', {class: 'tool-out'});
    const run = () => runTool(out, node, 'rabbitmq', rabbitState, d => {
      const s = d.queue_scan;
      const how = !s ? 'not scanned (beamctl_agent is not allowed on this node)'
        : `${fmt.num(s.scanned)} scanned, ${s.source === 'stats' ? "read from RabbitMQ's statistics tables" : 'each queue asked (RabbitMQ collects no statistics)'}` +
          (s.unanswered ? `, ${fmt.num(s.unanswered)} did not answer in time` : '');
      return h('div', {},
        facts(['Cluster', d.cluster], ['Connections', fmt.num(d.connections)], ['Channels', fmt.num(d.channels)],
          ['Consumers', fmt.num(d.consumers)], ['Vhosts', fmt.num(d.vhosts)], ['Queues in the cluster', fmt.num(d.cluster_queues)],
          ['Resource alarms', h('span', {class: d.alarms.length ? 'badge sev-critical' : 'badge sev-ok'}, list(d.alarms))],
          ['Partitioned from', list(d.partitions)],
          s && ['Messages on this node', `${fmt.num(s.messages_ready)} ready, ${fmt.num(s.messages_unacked)} unacked`]),
        h('p', {class: 'muted'}, 'Queues on this node: ' + how + '.'),
        s ? table([
          {label: 'Vhost', value: q => q.vhost, cls: () => 'mono'},
          {label: 'Queue', value: q => q.name, cls: () => 'mono'},
          {label: 'Type', value: q => q.type},
          {label: 'Messages', value: q => fmt.num(q.messages_ready + q.messages_unacked), num: true},
          {label: 'Ready', value: q => fmt.num(q.messages_ready), num: true},
          {label: 'Unacked', value: q => fmt.num(q.messages_unacked), num: true},
          {label: 'Consumers', value: q => fmt.num(q.consumers), num: true},
          {label: 'Memory', value: q => fmt.bytes(q.memory_bytes), num: true},
        ], s.top, {caption: `The ${s.top.length} largest queues by ${d.by}`, empty: 'No queue on this node.'}) : null);
    });
    const form = h('form', {class: 'row tool-form', onsubmit: e => {
      e.preventDefault();
      const f = new FormData(form);
      rabbitState.by = f.get('by'); rabbitState.n = f.get('n');
      run();
    }},
    h('label', {}, 'Rank by ', h('select', {name: 'by'}, ['messages', 'ready', 'unacked', 'consumers', 'memory'].map(c => h('option', {value: c, selected: c === rabbitState.by}, c)))),
    h('label', {}, 'Count ', h('input', {name: 'n', type: 'number', min: 1, max: 1000, value: rabbitState.n, size: 5})),
    h('button', {type: 'submit'}, 'Run'));
    panel.append(h('p', {class: 'muted'}, tool.summary || ''), form, out);
    await run();
  },
};

export const mnesia = {
  id: 'mnesia',
  label: 'Mnesia',
  role: 'operator',
  series: 'erlang_mnesia_local_tables',
  async render(panel, {node}) {
    const tool = (await tools()).get('mnesia') || {};
    const out = h('div', {class: 'tool-out'});
    panel.append(h('p', {class: 'muted'}, tool.summary || ''), out);
    await runTool(out, node, 'mnesia', {}, d => h('div', {},
      facts(['Held locks', fmt.num(d.held_locks)], ['Lock queue', fmt.num(d.lock_queue)],
        ['Transactions', `${fmt.num(d.transaction_commits)} committed, ${fmt.num(d.transaction_failures)} aborted, ${fmt.num(d.transaction_restarts)} restarted`],
        ['Local tables', d.tables_shown < d.local_tables ? `${fmt.num(d.local_tables)} (${d.tables_shown} shown)` : fmt.num(d.local_tables)]),
      table([
        {label: 'Table', value: t => t.name, cls: () => 'mono'},
        {label: 'Storage', value: t => t.storage_type},
        {label: 'Records', value: t => fmt.num(t.size), num: true},
        {label: 'Memory', value: t => fmt.bytes(t.memory_bytes), num: true},
        {label: 'Replicas', value: t => t.replicas.join(' '), cls: () => 'mono'},
      ], d.tables, {caption: 'Tables with a copy on this node', empty: 'No local table.'})));
  },
};

export const ejabberd = {
  id: 'ejabberd',
  label: 'ejabberd',
  role: 'operator',
  series: 'ejabberd_sessions',
  async render(panel, {node}) {
    const tool = (await tools()).get('ejabberd') || {};
    const out = h('div', {class: 'tool-out'});
    panel.append(h('p', {class: 'muted'}, tool.summary || ''), out);
    await runTool(out, node, 'ejabberd', {}, d => h('div', {},
      facts(['Online sessions', fmt.num(d.sessions)], ['S2S incoming', fmt.num(d.s2s_incoming)], ['S2S outgoing', fmt.num(d.s2s_outgoing)]),
      table([
        {label: 'Virtual host', value: r => r[0], cls: () => 'mono'},
        {label: 'Registered users', value: r => fmt.num(r[1]), num: true},
      ], Object.entries(d.registered_users).sort(), {caption: 'Registered users per virtual host', empty: 'No virtual host.'})));
  },
};

// products are the product tabs, in the order they are shown.
export const products = [rabbitmq, mnesia, ejabberd];
