// What the Node page's tool tabs share: the tool registry (GET
// /api/v1/tools, asked once per page load), running a tool on the node
// (GET /api/v1/nodes/{node}/{tool}, operator role), and the messages a tab
// shows when a tool cannot run from the browser.
import {h, errorBox} from '../lib/dom.js';
import {api} from '../lib/api.js';

let registry = null;

// tools returns the registry's tools by name.
export function tools() {
  if (!registry) {
    registry = api.get('/api/v1/tools')
      .then(ts => new Map(ts.map(t => [t.name, t])))
      .catch(e => { registry = null; throw e; });
  }
  return registry;
}

// param returns a tool's parameter description (or {}).
export function param(tool, name) {
  return (tool.params || []).find(p => p.name === name) || {};
}

// nodePath is the API path of a tool on a node.
export function toolPath(node, tool) {
  return '/api/v1/nodes/' + encodeURIComponent(node) + '/' + encodeURIComponent(tool);
}

// processHref is the Process page of a pid on a node.
export function processHref(node, pid) {
  return '/ui/nodes/' + encodeURIComponent(node) + '/processes/' + encodeURIComponent(pid);
}

// notOnAPI explains a registry tool the HTTP API does not run (it is not
// read-only, or shows secrets) and how to run it from the command line.
export function notOnAPI(name, tool, node) {
  const why = tool && tool.changes
    ? `it changes the node (it ${tool.changes}), so the HTTP API does not run it.`
    : 'the HTTP API does not run it.';
  return h('div', {class: 'tool-off'},
    h('p', {}, `The ${name} tool is not available in the browser: `, why),
    h('p', {}, 'Run it from the command line: ', h('code', {}, `beamctl ${name} ${node}`)),
    tool ? h('p', {class: 'muted'}, tool.summary) : null);
}

// runTool runs a Web tool on the node into out, showing progress and
// errors; show(data) renders the result. It returns the data (or null).
export async function runTool(out, node, name, params, show) {
  const ts = await tools();
  const tool = ts.get(name);
  if (!tool || !tool.web) {
    out.replaceChildren(notOnAPI(name, tool, node));
    return null;
  }
  out.setAttribute('aria-busy', 'true');
  out.replaceChildren(h('p', {class: 'muted'}, `Running ${name} on ${node}…`));
  const t0 = performance.now();
  try {
    const data = await api.get(toolPath(node, name), params);
    const ms = Math.round(performance.now() - t0);
    out.replaceChildren(show(data), h('p', {class: 'muted tool-took'}, `${name} took ${ms} ms, at ${new Date().toLocaleTimeString(undefined, {hour12: false})}.`));
    return data;
  } catch (e) {
    out.replaceChildren(errorBox(e));
    return null;
  } finally {
    out.removeAttribute('aria-busy');
  }
}
