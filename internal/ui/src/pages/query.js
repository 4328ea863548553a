// The Query page: PromQL over the server's store, like Prometheus's graph
// page: a Graph tab (a range query drawn by TimeChart, with the range
// picker) and a Table tab (an instant query, one row per series). The
// expression, range and tab are in the URL (?expr=&range=&tab=), so a view
// is linkable; errors are shown as the API gives them. With web.grafana_url
// configured, a link opens the same query in Grafana's Explore.
import {h, replace, table, errorBox} from '../lib/dom.js';
import {api} from '../lib/api.js';
import {TimeChart, rangePicker, rangeSeconds, stepFor} from '../lib/chart.js';

// uiConfig is fetched once per page load of the app (it changes only on a
// reload of the server's configuration).
let uiConfig = null;
async function loadUIConfig() {
  if (!uiConfig) uiConfig = api.get('/api/v1/ui/config').catch(() => ({}));
  return uiConfig;
}

// seriesName writes a series' labels the way PromQL does: name{a="b"}.
export function seriesName(metric) {
  const {__name__: name = '', ...labels} = metric || {};
  const ls = Object.keys(labels).sort().map(k => `${k}=${JSON.stringify(labels[k])}`);
  return name + (ls.length || !name ? '{' + ls.join(', ') + '}' : '');
}

// grafanaExplore is Grafana's Explore URL for expr over the last range:
// the "left" pane state (Grafana 7 onwards; Grafana 10 and later convert it
// to their "panes" form), with the configured data source or Grafana's
// default.
export function grafanaExplore(cfg, expr, range) {
  const pane = {queries: [{refId: 'A', expr}], range: {from: 'now-' + range, to: 'now'}};
  if (cfg.grafana_datasource) pane.datasource = cfg.grafana_datasource;
  return cfg.grafana_url.replace(/\/+$/, '') + '/explore?left=' + encodeURIComponent(JSON.stringify(pane));
}

function setURL(params, push) {
  const u = new URL(location.href);
  for (const [k, v] of Object.entries(params)) {
    if (v) u.searchParams.set(k, v);
    else u.searchParams.delete(k);
  }
  if (u.href === location.href) return;
  if (push) history.pushState(history.state, '', u);
  else history.replaceState(history.state, '', u);
}

export default {
  title: 'Query',
  async render(root, _params, ctx) {
    let expr = ctx.query.get('expr') || '';
    let range = ctx.query.get('range') || '1h';
    let tab = ctx.query.get('tab') === 'table' ? 'table' : 'graph';

    const input = h('textarea', {id: 'query-expr', class: 'mono', rows: 3, spellcheck: 'false', autocomplete: 'off',
      placeholder: 'erlang_vm_memory_bytes{kind="total"}', 'aria-describedby': 'query-hint', value: expr});
    const form = h('form', {class: 'query-form', onsubmit: e => { e.preventDefault(); run(true); }},
      h('label', {for: 'query-expr'}, 'Expression (PromQL)'),
      input,
      h('div', {class: 'row'},
        h('button', {type: 'submit'}, 'Run'),
        h('span', {id: 'query-hint', class: 'muted'}, 'Ctrl+Enter runs the query.')));
    input.addEventListener('keydown', e => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        run(true);
      }
    });

    const grafana = h('p', {class: 'grafana-link'});
    const status = h('div', {class: 'query-status', 'aria-live': 'polite'});
    const tabButton = (name, label) => h('button', {type: 'button', role: 'tab', id: 'query-tab-' + name,
      'aria-controls': 'query-panel-' + name, 'aria-selected': String(tab === name),
      onclick: () => { tab = name; setURL({tab: name === 'graph' ? '' : name}, false); show(); run(false); }}, label);
    const tabs = h('div', {class: 'tabs', role: 'tablist', 'aria-label': 'Result'}, tabButton('graph', 'Graph'), tabButton('table', 'Table'));
    const chart = new TimeChart({title: 'Graph', unit: '', queries: [{expr: '', label: seriesName}]});
    ctx.onLeave(() => chart.destroy());
    const graphPanel = h('div', {id: 'query-panel-graph', role: 'tabpanel', 'aria-labelledby': 'query-tab-graph'},
      h('div', {class: 'row'}, rangePicker(range, r => { range = r; updateGrafana(); run(false); })),
      chart.el);
    const tablePanel = h('div', {id: 'query-panel-table', role: 'tabpanel', 'aria-labelledby': 'query-tab-table'});

    root.append(h('h1', {}, 'Query'), h('section', {class: 'card', 'aria-label': 'Expression'}, form, grafana),
      tabs, status, graphPanel, tablePanel);

    const cfg = await loadUIConfig();
    function updateGrafana() {
      if (!cfg.grafana_url || !expr) {
        replace(grafana);
        return;
      }
      replace(grafana, h('a', {href: grafanaExplore(cfg, expr, range), target: '_blank', rel: 'noopener noreferrer'},
        'Open in Grafana'), h('span', {class: 'muted'}, ' (Explore, the same query and range)'));
    }

    function show() {
      for (const b of tabs.querySelectorAll('[role=tab]')) b.setAttribute('aria-selected', String(b.id === 'query-tab-' + tab));
      graphPanel.hidden = tab !== 'graph';
      tablePanel.hidden = tab !== 'table';
    }

    let seq = 0; // answers of an older run are dropped
    async function run(fromInput) {
      if (fromInput) {
        expr = input.value.trim();
        setURL({expr}, true);
      }
      updateGrafana();
      replace(status);
      if (!expr) {
        replace(tablePanel, h('p', {class: 'empty'}, 'Type an expression and run it.'));
        return;
      }
      const my = ++seq;
      try {
        if (tab === 'graph') {
          const seconds = rangeSeconds(range);
          const end = Date.now() / 1000, step = stepFor(seconds), start = end - seconds;
          const d = await api.get('/api/v1/query_range', {query: expr, start, end, step});
          if (my !== seq) return;
          chart.opts.queries[0].expr = expr;
          chart.draw([d.result], start, end, step);
        } else {
          const d = await api.get('/api/v1/query', {query: expr});
          if (my !== seq) return;
          replace(tablePanel, resultTable(d));
        }
      } catch (e) {
        if (my !== seq) return;
        replace(status, errorBox(e));
        if (tab === 'table') replace(tablePanel);
      }
    }

    show();
    await run(false);
  },
};

// maxRows bounds the table (the API answers up to --query.max-series).
const maxRows = 1000;

// resultTable shows an instant query's answer: a row per series (vector),
// per series with its values (matrix), or the one value (scalar, string).
function resultTable(d) {
  const shown = Array.isArray(d.result) && d.resultType !== 'scalar' && d.resultType !== 'string'
    ? d.result.slice(0, maxRows) : d.result;
  const caption = n => n > maxRows ? `${n} series; the first ${maxRows} shown` : `${n} series`;
  switch (d.resultType) {
    case 'vector':
      return table([
        {label: 'Series', value: s => h('span', {class: 'mono'}, seriesName(s.metric))},
        {label: 'Value', num: true, value: s => h('span', {class: 'mono'}, s.value[1])},
      ], shown, {caption: caption(d.result.length), empty: 'No data: the expression matches no series now.'});
    case 'matrix':
      return table([
        {label: 'Series', value: s => h('span', {class: 'mono'}, seriesName(s.metric))},
        {label: 'Values', value: s => h('span', {class: 'mono'}, s.values.map(([t, v]) => `${v} @${t}`).join('\n'))},
      ], shown, {caption: caption(d.result.length), empty: 'No data: the expression matches no series now.'});
    default:
      return table([
        {label: 'Type', value: () => d.resultType},
        {label: 'Value', num: true, value: r => h('span', {class: 'mono'}, String(r[1]))},
      ], [d.result]);
  }
}
