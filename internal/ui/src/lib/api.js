// The API client: same origin, the session cookie, the CSRF header on
// changes, and the header that asks the server not to answer 401 with a
// Basic challenge (the browser's own login dialog).

let session = null; // {user, role, method, csrf_token}
const roles = {viewer: 1, operator: 2, admin: 3};

export class APIError extends Error {
  constructor(status, msg) {
    super(msg);
    this.status = status;
  }
}

function qs(params) {
  if (!params) return '';
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v == null || v === '') continue;
    if (Array.isArray(v)) v.forEach(x => u.append(k, x));
    else u.append(k, v);
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

async function request(method, path, params, body, signal) {
  const headers = {'X-Beamctl-UI': '1', Accept: 'application/json'};
  if (method !== 'GET' && session && session.csrf_token) headers['X-CSRF-Token'] = session.csrf_token;
  let payload;
  if (body instanceof JSONBody) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body.value);
  } else if (body) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(Object.entries(body).filter(([, v]) => v != null)).toString();
  }
  const resp = await fetch(path + qs(params), {method, headers, body: payload, credentials: 'same-origin', signal});
  let j = null;
  try { j = await resp.json(); } catch (e) { /* not JSON */ }
  if (!resp.ok || !j || j.status === 'error') {
    const msg = (j && j.error) || `${method} ${path}: ${resp.status} ${resp.statusText}`;
    if (resp.status === 401 && path !== '/api/v1/login' && path !== '/api/v1/session') {
      session = null;
      window.dispatchEvent(new CustomEvent('beamctl:unauthorized'));
    }
    throw new APIError(resp.status, msg);
  }
  return j.data;
}

// JSONBody marks a body sent as JSON rather than as a form.
class JSONBody {
  constructor(value) { this.value = value; }
}

export const api = {
  get: (path, params, signal) => request('GET', path, params, null, signal),
  post: (path, body) => request('POST', path, null, body || {}),
  postJSON: (path, value) => request('POST', path, null, new JSONBody(value)),
  del: (path) => request('DELETE', path, null, null),
};

// loadSession asks who we are; null when not logged in.
export async function loadSession() {
  try {
    session = await api.get('/api/v1/session');
  } catch (e) {
    if (e.status !== 401) throw e;
    session = null;
  }
  return session;
}

export async function login(user, password) {
  session = await api.post('/api/v1/login', {user, password});
  return session;
}

export async function logout() {
  try { await api.post('/api/v1/logout'); } finally { session = null; }
}

export function currentSession() { return session; }

// can says whether the session's role is at least role.
export function can(role) {
  return !!session && (roles[session.role] || 0) >= roles[role];
}

// promql runs an instant query; returns the result vector.
export async function instant(query, time) {
  const d = await api.get('/api/v1/query', {query, time});
  return d.result;
}

// range runs a range query over the last `seconds` (or [start, end]).
export async function rangeQuery(query, start, end, step) {
  const d = await api.get('/api/v1/query_range', {query, start, end, step});
  return d.result;
}
