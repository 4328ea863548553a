// The Process page: ectl's pi (seed 000) for one process of a node, from
// GET /api/v1/nodes/{node}/pi (operator: it runs process_info on the
// node). Links, monitors and the group leader open their own pages. No
// auto-refresh: each read costs the node; the Refresh button reads again.
import {h, link, section, errorBox, replace} from '../lib/dom.js';
import {api, can, currentSession} from '../lib/api.js';
import * as fmt from '../lib/format.js';
import * as syntax from '../lib/syntax.js';

// processHref is a process page's URL (pid or registered name).
export function processHref(node, pid) {
  return '/ui/nodes/' + encodeURIComponent(node) + '/processes/' + encodeURIComponent(pid);
}

// procLink links a local pid (<0.X.Y>) to its page; anything else (a
// port, a remote process, {Name, Node}) is shown as text.
function procLink(node, p, sp) {
  return /^<0\.\d+\.\d+>$/.test(p) ? link(processHref(node, p), sp.pid(p)) : h('code', {}, p);
}

function procList(node, ps, sp) {
  if (!ps || !ps.length) return h('span', {class: 'muted'}, 'none');
  return h('span', {class: 'pid-list'}, ps.map((p, i) => [i ? ', ' : '', procLink(node, p, sp)]));
}

function frame(f, sp) {
  return f.file ? `${sp.name(f.mfa)} (${f.file}:${f.line})` : sp.name(f.mfa);
}

function field(name, ...value) {
  return [h('dt', {}, name), h('dd', {}, ...value)];
}

function render(node, pi) {
  // Elixir's spelling for a process of an Elixir module (or on request).
  const ex = syntax.elixir(syntax.isElixir(pi.registered_name, pi.current_function, pi.initial_call));
  const sp = syntax.speller(ex);
  const name = pi.registered_name ? ` (${sp.name(pi.registered_name)})` : '';
  return [
    section(`Process ${sp.pid(pi.pid)}${name}`,
      h('dl', {class: 'fields pi'},
        pi.current_location ? field('Current location', h('code', {}, frame(pi.current_location, sp))) : null,
        field('Current function', h('code', {}, sp.name(pi.current_function))),
        field('Initial call', h('code', {}, sp.name(pi.initial_call))),
        field('Status', pi.status, ', priority ', pi.priority, ', trap_exit ', String(pi.trap_exit)),
        field('Message queue length', fmt.num(pi.message_queue_len)),
        field('Process size', `${fmt.bytes(pi.memory_bytes)} (heap=${fmt.bytes(pi.heap_bytes)} stack=${fmt.bytes(pi.stack_bytes)} total=${fmt.bytes(pi.total_heap_bytes)})`),
        field('Reductions', String(pi.reductions)),
        field('Group leader', procLink(node, pi.group_leader, sp)),
        field('Links', procList(node, pi.links, sp)),
        field('Monitors', procList(node, pi.monitors, sp)),
        field('Monitored by', procList(node, pi.monitored_by, sp)))),
    section(`Current stack depth is ${(pi.stacktrace || []).length}`,
      pi.stacktrace && pi.stacktrace.length
        ? h('ol', {class: 'stack'}, pi.stacktrace.map(f => h('li', {}, h('code', {}, frame(f, sp)))))
        : h('p', {class: 'empty'}, 'No stack.')),
    section('Dictionary',
      pi.dictionary && pi.dictionary.length
        ? h('div', {class: 'table-wrap'}, h('table', {class: 'dict'},
          h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Key'), h('th', {scope: 'col'}, 'Value'))),
          h('tbody', {}, pi.dictionary.map(d => h('tr', {}, h('td', {}, h('pre', {}, (ex && d.key_elixir) || d.key)),
            h('td', {}, h('pre', {}, (ex && d.value_elixir) || d.value)))))))
        : h('p', {class: 'empty'}, 'Empty.')),
  ];
}

export default {
  title: params => 'Process ' + params.pid,
  render(root, params) {
    const {node, pid} = params;
    const body = h('div', {id: 'pi'});
    const when = h('span', {class: 'muted', 'aria-live': 'polite'});
    const refresh = h('button', {type: 'button', id: 'pi-refresh', onclick: () => load()}, 'Refresh');
    root.append(
      h('p', {class: 'crumbs'}, link('/ui/nodes/' + encodeURIComponent(node), node), ' › process'),
      h('div', {class: 'row page-head'}, h('h1', {}, 'Process ', h('code', {}, pid)), can('operator') ? refresh : null, when),
      body);
    if (!can('operator')) {
      body.append(errorBox(`Process info runs process_info on the node: it needs the operator role; you have ${currentSession().role}.`));
      return;
    }
    async function load() {
      refresh.disabled = true;
      try {
        const pi = await api.get(`/api/v1/nodes/${encodeURIComponent(node)}/pi`, {pid});
        replace(body, render(node, pi));
        when.textContent = 'Read at ' + fmt.time(new Date());
      } catch (e) {
        replace(body, errorBox(e));
      } finally {
        refresh.disabled = false;
      }
    }
    return load();
  },
};
