// The router: every page has a URL under /ui/; links are ordinary <a href>
// (so they open in a new tab too), clicks on them are handled here with
// history.pushState, and the back button re-renders the page it returns to.
//
// A page is {title, role?, render(root, params, ctx)}. ctx gives the page
// one refresh timer (every), cleanups run when it is left (onLeave), and
// its URL query (query).

const routes = [];

export function route(pattern, page) {
  // pattern: '/ui/nodes/:node' → a RegExp with named groups.
  const re = new RegExp('^' + pattern.replace(/:([a-z]+)/g, '(?<$1>[^/]+)') + '/?$');
  routes.push({re, page});
}

let current = null; // {leave: [fn], timer}
let renderInto = null;

export function start(root, onPage) {
  renderInto = (path) => {
    if (current) current.leave.forEach(f => { try { f(); } catch (e) { console.error(e); } });
    const leave = [];
    current = {leave};
    for (const {re, page} of routes) {
      const m = path.match(re);
      if (!m) continue;
      const params = {};
      for (const [k, v] of Object.entries(m.groups || {})) params[k] = decodeURIComponent(v);
      const ctx = {
        query: new URL(location.href).searchParams,
        onLeave: f => leave.push(f),
        // every runs fn now and every ms (the page's one timer); it stops
        // when the page is left or the tab is hidden.
        every(ms, fn) {
          let stopped = false;
          const tick = async () => {
            if (stopped) return;
            if (!document.hidden) { try { await fn(); } catch (e) { console.error(e); } }
            if (!stopped) t = setTimeout(tick, ms);
          };
          let t = setTimeout(tick, 0);
          leave.push(() => { stopped = true; clearTimeout(t); });
        },
      };
      onPage(page, params, ctx);
      return;
    }
    onPage(null, {}, {query: new URLSearchParams(), onLeave: () => {}, every: () => {}});
  };
  document.addEventListener('click', e => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const u = new URL(a.href, location.href);
    if (u.origin !== location.origin || !u.pathname.startsWith('/ui/')) return;
    e.preventDefault();
    navigate(u.pathname + u.search + u.hash);
  });
  window.addEventListener('popstate', () => renderInto(location.pathname));
  renderInto(location.pathname);
}

export function navigate(url, {replace = false} = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  renderInto(new URL(url, location.href).pathname);
}

// reload renders the current page again.
export function reload() {
  renderInto(location.pathname);
}
