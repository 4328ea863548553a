// Small DOM helpers: the UI builds its pages with h(), never with
// innerHTML, so no text from a node or a user is ever parsed as HTML.

// h creates an element. attrs: attributes, with on* functions as event
// listeners, "class", "style" (an object) and "dataset" (an object);
// children: nodes, strings, numbers, arrays of them, null/false (skipped).
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && !svg) el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// replace empties el and appends children.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// table builds an accessible table: cols are {label, value(row) -> node|string,
// num (right-aligned), cls(row)}.
export function table(cols, rows, {caption, empty = 'Nothing to show.', rowAttrs} = {}) {
  if (!rows.length) return h('p', {class: 'empty'}, empty);
  return h('div', {class: 'table-wrap'},
    h('table', {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, cols.map(c => h('th', {scope: 'col', class: c.num ? 'num' : null}, c.label)))),
      h('tbody', {}, rows.map(r => h('tr', rowAttrs ? rowAttrs(r) : {},
        cols.map(c => h('td', {class: [c.num ? 'num' : '', c.cls ? c.cls(r) : ''].join(' ').trim() || null}, c.value(r))))))));
}

// link is an in-app link (the router handles the click).
export function link(href, ...children) {
  return h('a', {href}, ...children);
}

// section is a titled block of a page.
export function section(title, ...children) {
  return h('section', {class: 'card', 'aria-label': title}, h('h2', {}, title), ...children);
}

// errorBox shows an error the way every page does.
export function errorBox(err) {
  return h('p', {class: 'error', role: 'alert'}, String(err && err.message ? err.message : err));
}
