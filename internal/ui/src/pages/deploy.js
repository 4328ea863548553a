// The Deploy page: one deploy's plan and progress: its waves, every node's
// modules (md5 before and now, backup, old code), refusals, the gate that
// failed with its evidence, its events, and the admin's commands. It
// refreshes every 2 s while the deploy is active.
import {h, replace, table, link, section, errorBox} from '../lib/dom.js';
import {api, can} from '../lib/api.js';
import {time} from '../lib/format.js';
import {stateBadge, active, scope, modules, commands, command} from '../lib/deploys.js';

const short = md5 => md5 ? md5.slice(0, 8) : '—';

function field(name, ...value) {
  return [h('dt', {}, name), h('dd', {}, ...value)];
}

function evidenceItem(e) {
  if (e.startsWith('notifications?')) return link('/ui/' + e, e);
  return h('code', {}, e);
}

export default {
  title: params => 'Deploy ' + params.id,
  async render(root, params, ctx) {
    const head = h('div');
    const message = h('div', {'aria-live': 'assertive'});
    const body = h('div');
    root.append(head, message, body);
    let last = null;

    const run = async (d, action, confirmText) => {
      if (!confirm(confirmText)) return;
      try {
        render(await command(d, action));
        message.replaceChildren();
      } catch (e) {
        message.replaceChildren(errorBox(e));
      }
    };

    function render(d) {
      last = d;
      const o = d.options;
      replace(head, h('div', {class: 'row page-head'},
        h('h1', {}, 'Deploy ', h('span', {class: 'mono'}, d.id)), stateBadge(d.state),
        can('admin') ? h('div', {class: 'row actions'}, commands(d).map(([action, label, text, disabled]) =>
          h('button', {type: 'button', class: action === 'rollback' || action === 'abort' ? 'danger' : null, disabled,
            dataset: {action}, onclick: () => run(d, action, text)}, label))) : null));
      const wave = d.waves[Math.min(d.wave, d.waves.length - 1)];
      replace(body,
        d.refusals.length ? h('div', {class: 'card refusals', role: 'alert'}, h('h2', {}, 'Refused: the plan cannot start'),
          h('ul', {}, d.refusals.map(r => h('li', {}, r)))) : null,
        d.failure ? h('div', {class: 'card failure', role: 'alert'},
          h('h2', {}, `Gate ${d.failure.gate} failed in wave ${d.failure.wave + 1}`),
          h('p', {}, d.failure.text, ' ', h('span', {class: 'muted'}, time(d.failure.at))),
          h('ul', {class: 'plain evidence'}, (d.failure.evidence || []).map(e => h('li', {}, evidenceItem(e))))) : null,
        section('Plan', h('dl', {class: 'fields'},
          field('Scope', scope(d)),
          field('Modules', modules(d)),
          field('Planned', time(d.created), ' by ', d.created_by),
          d.started_by ? field('Started by', d.started_by) : null,
          field('Now', active(d.state) && wave ? `wave ${d.wave + 1} of ${d.waves.length} (${wave.name}): ${wave.state}` : d.state.replace('_', ' ')),
          field('Gates', `bake ${o.bake} per wave, checked every ${o.check_every}; new alarms from ${o.severity}; failures ≤ ${o.error_ratio} × control + ${o.error_margin} per node`,
            (o.gates || []).map(g => [h('br'), h('code', {}, `${g.name}: ${g.expr}`)])),
          field('Old code', `soft purge waits ${o.purge_wait}, then ${o.force ? 'kills the processes in it (force)' : 'fails the load'}`)),
          d.warnings.length ? h('ul', {class: 'warnings'}, d.warnings.map(w => h('li', {class: 'warning-text'}, w))) : null),
        section('Waves', h('ol', {class: 'waves'}, d.waves.map((w, i) => h('li', {class: 'wave', dataset: {state: w.state},
          'aria-current': i === d.wave && active(d.state) ? 'step' : null},
        h('div', {class: 'row'}, h('b', {}, w.name), stateBadge(w.state)),
        h('div', {class: 'muted'}, w.loaded ? 'loaded ' + time(w.loaded) : 'not loaded yet'),
        h('div', {class: 'mono wave-nodes'}, w.nodes.join(', ')))))),
        section('Modules', table([
          {label: 'Module', value: m => m.module},
          {label: 'New md5', value: m => h('span', {class: 'mono', title: m.md5}, short(m.md5))},
          {label: 'File', value: m => m.file},
          {label: 'Compiler', value: m => m.compiler ? `${m.compiler} (OTP ${m.min_otp}+)` : '—'},
        ], d.modules)),
        section('Nodes', table([
          {label: 'Node', value: r => r.first ? link('/ui/nodes/' + encodeURIComponent(r.n.node), r.n.node) : ''},
          {label: 'Labels', value: r => r.first ? Object.entries(r.n.labels).filter(([k]) => k !== 'host').map(([k, v]) => h('span', {class: 'badge'}, `${k}=${v}`)) : ''},
          {label: 'Status', value: r => r.first ? [stateBadge(r.n.status), r.n.error ? h('div', {class: 'error-text'}, r.n.error) : null] : ''},
          {label: 'Module', value: r => r.m.module},
          {label: 'md5 before', value: r => h('span', {class: 'mono', title: r.m.md5_before}, short(r.m.md5_before))},
          {label: 'md5 now', value: r => h('span', {class: 'mono', title: r.m.md5_now}, short(r.m.md5_now))},
          {label: 'Backup', value: r => r.m.backup},
          {label: 'Old code', value: r => !r.m.old_code ? '—' : r.m.lingering.length ? `${r.m.lingering.length} processes in it` : 'no process in it'},
          {label: 'Killed', value: r => (r.m.killed || []).join(', ')},
        ], d.nodes.flatMap(n => n.modules.map((m, i) => ({n, m, first: i === 0}))), {rowAttrs: r => ({dataset: {node: r.n.node}})})),
        section('Events', table([
          {label: 'Time', value: e => time(e.time)},
          {label: 'Event', value: e => e.text},
        ], [...d.events].reverse(), {empty: 'No event yet.'})));
    }

    const load = async () => {
      try {
        render(await api.get('/api/v1/deploys/' + encodeURIComponent(params.id)));
        message.replaceChildren();
      } catch (e) {
        message.replaceChildren(errorBox(e));
      }
    };
    await load();
    ctx.every(2000, async () => {
      if (last && (active(last.state) || last.state === 'planned')) await load();
    });
  },
};
