// Time-series charts (uPlot) fed by PromQL range queries, the time range
// picker every chart page shares, and SVG sparklines.
import uPlot from 'uplot';
import {h} from './dom.js';
import {rangeQuery} from './api.js';
import * as fmt from './format.js';

// Ranges offered by the picker, in seconds.
export const ranges = [
  ['5m', 300], ['15m', 900], ['1h', 3600], ['3h', 10800], ['6h', 21600], ['12h', 43200],
  ['1d', 86400], ['2d', 172800], ['7d', 604800], ['15d', 1296000],
];

export function rangeSeconds(name) {
  const r = ranges.find(r => r[0] === name);
  return r ? r[1] : 3600;
}

// rangePicker is a select bound to the URL's ?range= (so a view is
// linkable); onChange gets the new range name.
export function rangePicker(current, onChange) {
  return h('label', {class: 'picker'}, 'Range ',
    h('select', {
      onchange: e => {
        const u = new URL(location.href);
        u.searchParams.set('range', e.target.value);
        history.replaceState(history.state, '', u);
        onChange(e.target.value);
      },
    }, ranges.map(([n]) => h('option', {value: n, selected: n === current}, n))));
}

// cssVar reads a theme colour (a canvas cannot use CSS variables).
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

// stepFor picks a query step giving about 240 points over the range.
export function stepFor(seconds) {
  return Math.max(5, Math.round(seconds / 240));
}

// TimeChart draws the series of one or more PromQL queries over a range.
// opts: {title, unit, queries: [{expr, label(metric) -> string,
// keep(metric) -> bool (optional: which series to draw)}], marks
// (optional): [{t (unix seconds), label}] drawn as vertical lines}.
export class TimeChart {
  constructor(opts) {
    this.opts = opts;
    this.el = h('figure', {class: 'chart'}, h('figcaption', {}, opts.title));
    this.body = h('div', {class: 'chart-body'});
    this.status = h('p', {class: 'chart-status', 'aria-live': 'polite'});
    this.el.append(this.body, this.status);
    this.plot = null;
    this.key = '';
  }

  async load(seconds, end = Date.now() / 1000) {
    const step = stepFor(seconds);
    const start = end - seconds;
    try {
      const results = await Promise.all(this.opts.queries.map(q => rangeQuery(q.expr, start, end, step)));
      this.draw(results, start, end, step);
    } catch (e) {
      this.status.textContent = 'Query failed: ' + e.message;
    }
  }

  draw(results, start, end, step) {
    this.start = start;
    this.end = end;
    const xs = [];
    // Every point's rounded time is on this grid (a point near the end may
    // round up past it).
    for (let t = Math.round(start / step) * step; t <= Math.round(end / step) * step; t += step) xs.push(t);
    const idx = new Map(xs.map((t, i) => [t, i]));
    const series = [{}];
    const data = [xs];
    let n = 0;
    results.forEach((res, qi) => {
      const q = this.opts.queries[qi];
      for (const s of res) {
        if (q.keep && !q.keep(s.metric)) continue;
        const ys = new Array(xs.length).fill(null);
        for (const [t, v] of s.values) {
          const i = idx.get(Math.round(t / step) * step);
          if (i !== undefined) ys[i] = Number(v);
        }
        const label = q.label ? q.label(s.metric) : (q.name || JSON.stringify(s.metric));
        series.push({label, stroke: palette[n % palette.length], width: 1.5, spanGaps: false,
          value: (u, v) => v == null ? '–' : fmt.byUnit(this.opts.unit, v)});
        data.push(ys);
        n++;
      }
    });
    this.el.dataset.series = String(n);
    this.el.dataset.points = String(data.slice(1).reduce((a, ys) => a + ys.filter(v => v != null).length, 0));
    this.status.textContent = n ? '' : 'No data in this range.';
    const key = series.map(s => s.label).join('\u0000');
    const width = Math.max(280, this.body.clientWidth || 560);
    if (this.plot && key === this.key) {
      this.plot.setData(data);
      return;
    }
    if (this.plot) this.plot.destroy();
    this.key = key;
    const unit = this.opts.unit;
    const fg = cssVar('--fg-muted'), grid = cssVar('--grid');
    const marks = this.opts.marks || [];
    const markColour = cssVar('--critical');
    this.plot = new uPlot({
      width, height: 200, series,
      hooks: marks.length ? {draw: [u => drawMarks(u, marks, markColour)]} : {},
      // With marks, the whole range is shown: a mark past the last point stays visible.
      scales: {x: marks.length ? {time: true, range: () => [this.start, this.end]} : {time: true}},
      legend: {show: n <= 12},
      axes: [{stroke: fg, grid: {stroke: grid}, ticks: {stroke: grid}},
        {stroke: fg, grid: {stroke: grid}, ticks: {stroke: grid}, size: 70,
          values: (u, vals) => vals.map(v => fmt.byUnit(unit, v))}],
    }, data, this.body);
  }

  resize() {
    if (this.plot) this.plot.setSize({width: Math.max(280, this.body.clientWidth), height: 200});
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}

// drawMarks draws vertical lines at the marks' times, with their labels.
function drawMarks(u, marks, colour) {
  const c = u.ctx;
  c.save();
  c.strokeStyle = colour;
  c.fillStyle = colour;
  c.lineWidth = 1.5 * devicePixelRatio;
  c.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
  c.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
  for (const m of marks) {
    const x = Math.round(u.valToPos(m.t, 'x', true));
    if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
    c.beginPath();
    c.moveTo(x, u.bbox.top);
    c.lineTo(x, u.bbox.top + u.bbox.height);
    c.stroke();
    if (!m.label) continue;
    const pad = 4 * devicePixelRatio, w = c.measureText(m.label).width;
    const right = x + pad + w <= u.bbox.left + u.bbox.width; // else to the left of the line
    c.fillText(m.label, right ? x + pad : x - pad - w, u.bbox.top + 12 * devicePixelRatio);
  }
  c.restore();
}

// sparkline draws values (numbers, nulls for gaps) as a small SVG line.
export function sparkline(values, {width = 100, height = 24, label = ''} = {}) {
  const vs = values.map(v => v == null ? null : Number(v));
  const known = vs.filter(v => v != null);
  const svg = h('svg:svg', {width, height, viewBox: `0 0 ${width} ${height}`, class: 'spark', role: 'img', 'aria-label': label || 'trend'});
  if (known.length < 2) return svg;
  const lo = Math.min(...known), hi = Math.max(...known);
  const span = hi - lo || 1;
  const pts = [];
  vs.forEach((v, i) => {
    if (v == null) return;
    const x = (i / (vs.length - 1)) * (width - 2) + 1;
    const y = height - 1 - ((v - lo) / span) * (height - 2);
    pts.push(x.toFixed(1) + ',' + y.toFixed(1));
  });
  svg.append(h('svg:polyline', {points: pts.join(' '), fill: 'none', stroke: 'currentColor', 'stroke-width': 1.2}));
  return svg;
}
