// The Alarms page: the active alarms and the recently cleared ones,
// filtered by cluster, family, node, rule and severity (the URL's query,
// so a view is linkable), updated live from the alarm stream (SSE), with
// the operator's actions.
import {h, table, link, section, errorBox} from '../lib/dom.js';
import {api, can} from '../lib/api.js';
import * as fmt from '../lib/format.js';
import {sevBadge, sevClass, stateBadge, actions, watchAlarms} from '../lib/alarms.js';

const filterNames = ['cluster', 'family', 'node', 'rule', 'severity'];
const severities = ['critical', 'major', 'minor', 'warning'];
const historyLimit = 200;

function nodeLink(n) {
  return n ? link('/ui/nodes/' + encodeURIComponent(n), n) : h('span', {class: 'muted'}, 'cluster');
}

export default {
  title: 'Alarms',
  async render(root, params, ctx) {
    const filters = {};
    for (const k of filterNames) filters[k] = ctx.query.get(k) || '';
    const status = h('span', {class: 'live-status muted', 'aria-live': 'polite'}, 'Connecting…');
    const message = h('div', {'aria-live': 'assertive'});
    const active = h('div', {id: 'alarms-active'});
    const historyBox = h('div', {id: 'alarms-history'});
    const form = h('form', {class: 'row filters', 'aria-label': 'Filters', onsubmit: e => e.preventDefault()});
    root.append(
      h('div', {class: 'row page-head'}, h('h1', {}, 'Alarms'), status),
      form, message,
      section('Active', active),
      section('Cleared recently', historyBox));

    // The choices: clusters, families and nodes from the node list, rules
    // from the installed rules; a value in the URL is kept even if unknown.
    let nodes = [], rules = [];
    try {
      [nodes, rules] = await Promise.all([api.get('/api/v1/nodes'), api.get('/api/v1/alarm-rules')]);
    } catch (e) {
      message.append(errorBox(e));
    }
    const uniq = xs => [...new Set(xs.filter(Boolean))].sort();
    const choices = {
      cluster: uniq(nodes.map(n => n.cluster)),
      family: uniq(nodes.map(n => n.family)),
      node: uniq(nodes.map(n => n.node)),
      rule: uniq(rules.map(r => r.name)),
      severity: severities,
    };
    for (const k of filterNames) {
      const opts = choices[k].includes(filters[k]) || !filters[k] ? choices[k] : [filters[k], ...choices[k]];
      form.append(h('label', {class: 'filter'}, k[0].toUpperCase() + k.slice(1) + ' ',
        h('select', {name: k, id: 'filter-' + k, onchange: e => {
          filters[k] = e.target.value;
          const u = new URL(location.href);
          if (filters[k]) u.searchParams.set(k, filters[k]); else u.searchParams.delete(k);
          history.replaceState(history.state, '', u);
          load();
        }}, h('option', {value: ''}, 'any'), opts.map(v => h('option', {value: v, selected: v === filters[k]}, v)))));
    }

    const onDone = () => load();
    const onError = e => message.replaceChildren(errorBox(e));
    const cols = [
      {label: 'Severity', value: a => sevBadge(a.severity)},
      {label: 'Alarm', value: a => link('/ui/alarms/' + a.id, '#' + a.id + '\u00a0' + a.rule)},
      {label: 'Node', value: a => nodeLink(a.node)},
      {label: 'Subject', value: a => a.subject || '', subject: true},
      {label: 'Description', value: a => a.description},
    ];
    const activeCols = [...cols,
      {label: 'Raised', value: a => h('time', {datetime: a.raised_at, title: fmt.time(a.raised_at)}, fmt.ago(a.raised_at))},
      {label: 'State', value: a => [stateBadge(a), a.acked_by ? h('span', {class: 'muted'}, ' by ' + a.acked_by) : null,
        a.flapping ? h('span', {class: 'badge sev-warning'}, 'flapping') : null]},
      can('operator') ? {label: 'Actions', value: a => actions(a, onDone, onError)} : null,
    ].filter(Boolean);
    const historyCols = [...cols,
      {label: 'Raised', value: a => fmt.time(a.raised_at)},
      {label: 'Cleared', value: a => fmt.time(a.cleared_at)},
      {label: 'Lasted', value: a => fmt.duration((new Date(a.cleared_at) - new Date(a.raised_at)) / 1000), num: true},
    ];
    const rowAttrs = a => ({class: 'alarm-row ' + sevClass(a.severity) + '-row', 'data-alarm-id': a.id, 'data-severity': a.severity});

    let seq = 0, shown = '';
    async function load() {
      const my = ++seq;
      const q = Object.fromEntries(filterNames.map(k => [k, filters[k]]));
      try {
        const [act, all] = await Promise.all([
          api.get('/api/v1/alarms', {...q, active: 'true'}),
          api.get('/api/v1/alarms', {...q, limit: historyLimit}),
        ]);
        if (my !== seq) return; // a newer load is under way
        message.replaceChildren();
        // Unchanged: keep the rows (and the keyboard focus on them).
        const key = JSON.stringify([act, all]);
        if (key === shown) return;
        shown = key;
        // The Subject column only when an alarm has one.
        const cut = (cs, as) => as.some(a => a.subject) ? cs : cs.filter(c => !c.subject);
        active.replaceChildren(table(cut(activeCols, act), act, {caption: `${act.length} active`, empty: 'No active alarm.', rowAttrs}));
        const cleared = all.filter(a => !a.active);
        historyBox.replaceChildren(table(cut(historyCols, cleared), cleared,
          {caption: `Cleared among the ${historyLimit} newest alarms`, empty: 'No cleared alarm.', rowAttrs}));
      } catch (e) {
        if (my === seq) message.replaceChildren(errorBox(e));
      }
    }
    // The stream says when to read again; the page's timer reads every
    // minute anyway (the raise times' "ago", a proxy that holds the stream).
    ctx.every(60000, load);
    watchAlarms(ctx, load, s => {
      status.textContent = s === 'live' ? '● Live' : s === 'closed' ? 'Live updates stopped' : 'Reconnecting…';
      status.dataset.state = s;
    });
  },
};
