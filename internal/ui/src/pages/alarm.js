// The Alarm page: one alarm's fields, its history (raised, acknowledged,
// commented, cleared: who and when), the operator's actions, and a chart
// of its rule's metric around the moment it was raised.
import {h, table, link, section, errorBox, replace} from '../lib/dom.js';
import {api} from '../lib/api.js';
import * as fmt from '../lib/format.js';
import {TimeChart} from '../lib/chart.js';
import {sevBadge, stateBadge, actions, watchAlarms} from '../lib/alarms.js';

// The chart shows this much each side of the raise (?around=, 30m unless
// given): zoom in on the moment, or out for the trend before it.
const arounds = [['1m', 60], ['5m', 300], ['30m', 1800], ['2h', 7200], ['12h', 43200]];

function field(name, ...value) {
  return [h('dt', {}, name), h('dd', {}, ...value)];
}

// evidenceItem links a notification search to the Notifications page;
// anything else (a query rule's expression) is shown as code.
function evidenceItem(e) {
  if (e.startsWith('notifications?')) return link('/ui/' + e, e);
  return h('code', {}, e);
}

// subject links a subject that starts with a local pid (a process's
// alarm) to the process's page.
function subject(a) {
  const m = /^<0\.\d+\.\d+>/.exec(a.subject);
  if (!m || !a.node) return a.subject;
  return [link('/ui/nodes/' + encodeURIComponent(a.node) + '/processes/' + encodeURIComponent(m[0]), m[0]), a.subject.slice(m[0].length)];
}

// ruleExpr finds the PromQL expression of the alarm's rule: the rule's
// own (GET /api/v1/alarm-rules), else a query rule's evidence.
async function ruleExpr(a) {
  try {
    const rules = await api.get('/api/v1/alarm-rules');
    const r = rules.find(r => r.name === a.rule);
    if (r) return r.type === 'query' ? r.query : null;
  } catch (e) { /* fall back on the evidence */ }
  const ev = (a.evidence || [])[0];
  return ev && !ev.startsWith('notifications?') ? ev : null;
}

export default {
  title: params => 'Alarm #' + params.id,
  async render(root, params, ctx) {
    const head = h('div');
    const message = h('div', {'aria-live': 'assertive'});
    const fields = h('div');
    const hist = h('div', {id: 'alarm-history'});
    const chartBox = h('div', {id: 'alarm-chart'});
    root.append(head, message, section('Alarm', fields), section('Metric around the raise', chartBox), section('History', hist));

    let chart = null;
    async function load() {
      let a;
      try {
        a = await api.get('/api/v1/alarms/' + encodeURIComponent(params.id));
      } catch (e) {
        message.replaceChildren(errorBox(e));
        return null;
      }
      message.replaceChildren();
      replace(head, h('div', {class: 'row page-head'},
        h('h1', {}, `Alarm #${a.id}: ${a.rule}`), sevBadge(a.severity), stateBadge(a),
        actions(a, () => load(), e => message.replaceChildren(errorBox(e)))));
      replace(fields, h('dl', {class: 'fields'},
        field('Rule', link('/ui/alarms?rule=' + encodeURIComponent(a.rule), a.rule)),
        field('Cluster', link('/ui/alarms?cluster=' + encodeURIComponent(a.cluster), a.cluster)),
        field('Node', a.node ? link('/ui/nodes/' + encodeURIComponent(a.node), a.node) : h('span', {class: 'muted'}, 'the cluster')),
        a.subject ? field('Subject', subject(a)) : null,
        field('Severity', sevBadge(a.severity)),
        field('State', stateBadge(a), a.flapping ? [' ', h('span', {class: 'badge sev-warning'}, 'flapping')] : null),
        field('Description', a.description),
        field('Value', fmt.num(a.value, Math.abs(a.value) < 10 && a.value % 1 ? 3 : 0)),
        field('Raised', fmt.time(a.raised_at), ' ', h('span', {class: 'muted'}, '(' + fmt.ago(a.raised_at) + ')')),
        a.cleared_at ? field('Cleared', fmt.time(a.cleared_at)) : null,
        a.acked_by ? field('Acknowledged', a.acked_by, ' at ', fmt.time(a.acked_at)) : null,
        a.evidence && a.evidence.length ? field('Evidence', h('ul', {class: 'plain'}, a.evidence.map(e => h('li', {}, evidenceItem(e))))) : null,
        a.labels ? field('Labels', Object.entries(a.labels).map(([k, v]) => h('span', {class: 'badge'}, k + '=' + v))) : null,
        a.annotations ? field('Annotations', h('ul', {class: 'plain'}, Object.entries(a.annotations).map(([k, v]) => h('li', {}, h('b', {}, k), ': ', v)))) : null));
      replace(hist, table([
        {label: 'Time', value: e => fmt.time(e.time)},
        {label: 'What', value: e => e.kind},
        {label: 'Who', value: e => e.who || h('span', {class: 'muted'}, 'beamctl')},
        {label: 'Text', value: e => e.text || ''},
      ], a.history || [], {empty: 'No history.', rowAttrs: e => ({'data-kind': e.kind})}));
      return a;
    }

    const a = await load();
    if (!a) return;
    // The chart: the rule's expression over [raised - 30m, raised + 30m]
    // (or now), the alarm's own series only.
    const expr = await ruleExpr(a);
    if (!expr) {
      chartBox.append(h('p', {class: 'empty'}, `The rule ${a.rule} is not a query over metrics: nothing to chart.`));
    } else {
      const raised = new Date(a.raised_at).getTime() / 1000;
      let around = (arounds.find(([n]) => n === ctx.query.get('around')) || arounds[2])[1];
      const draw = () => {
        const end = Math.min(Date.now() / 1000, raised + around);
        return chart.load(end - (raised - around), end);
      };
      chartBox.append(h('label', {class: 'picker'}, 'Each side of the raise ',
        h('select', {id: 'alarm-around', onchange: e => {
          around = arounds.find(([n]) => n === e.target.value)[1];
          const u = new URL(location.href);
          u.searchParams.set('around', e.target.value);
          history.replaceState(history.state, '', u);
          draw();
        }}, arounds.map(([n, sec]) => h('option', {value: n, selected: sec === around}, n)))));
      chart = new TimeChart({
        title: expr, unit: '',
        queries: [{expr, keep: m => (!a.node || m.node === a.node) && (!a.cluster || !m.cluster || m.cluster === a.cluster),
          label: m => [m.node, ...Object.entries(m).filter(([k]) => !['node', 'cluster', '__name__'].includes(k)).map(([k, v]) => k + '=' + v)].join(' ')}],
        marks: [{t: raised, label: 'raised'}, ...(a.cleared_at ? [{t: new Date(a.cleared_at).getTime() / 1000, label: 'cleared'}] : [])],
      });
      chartBox.append(chart.el);
      await draw();
      ctx.onLeave(() => chart.destroy());
    }
    // Live: the alarm's changes (acknowledged elsewhere, cleared) show without reloading.
    watchAlarms(ctx, load, () => {});
  },
};
