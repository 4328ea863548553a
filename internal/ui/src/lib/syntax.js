// The spelling of module names, MFAs and pids: Erlang's, or Elixir's
// (MyApp.Worker, Process.sleep/1, :gen_server.loop/7, #PID<0.109.0>), as
// the CLI's --syntax: auto (the default) spells a table in Elixir's way
// when what it shows runs Elixir code. The choice is kept in localStorage.
const key = 'beamctl-syntax';

// choice is auto, erlang or elixir.
export function choice() {
  const c = localStorage.getItem(key);
  return c === 'erlang' || c === 'elixir' ? c : 'auto';
}

export function setChoice(c) {
  if (c === 'auto') localStorage.removeItem(key);
  else localStorage.setItem(key, c);
}

// isElixir reports whether any of the names or MFAs (as the API writes
// them, Erlang's way) is of an Elixir module.
export function isElixir(...names) {
  return names.some(n => typeof n === 'string' && (n.startsWith('Elixir.') || n.startsWith("'Elixir.")));
}

// elixir reports whether to spell in Elixir's way, hint being whether what
// is shown runs Elixir code.
export function elixir(hint) {
  const c = choice();
  return c === 'elixir' || (c === 'auto' && hint);
}

const mfa = /^('(?:[^'\\]|\\.)*'|[a-z][A-Za-z0-9_@]*):('(?:[^'\\]|\\.)*'|[a-z][A-Za-z0-9_@]*)\/(\d+)$/;
const plainAtom = /^[a-z_][A-Za-z0-9_@]*[?!]?$/;
const plainFun = /^[a-z_][A-Za-z0-9_]*[?!]?$/;

function unquote(s) {
  return s.length >= 2 && s[0] === "'" && s[s.length - 1] === "'" ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s;
}

function quoted(s) {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

// atomText is an atom as Elixir writes it: an Elixir module's alias, or :atom.
function atomText(a) {
  if (a.startsWith('Elixir.') && a.length > 7) return a.slice(7);
  return ':' + (plainAtom.test(a) ? a : quoted(a));
}

// name rewrites a module, registered name or module:function/arity written
// Erlang's way into Elixir's; other text is returned as it is.
export function name(s) {
  if (typeof s !== 'string' || !s) return s;
  const m = mfa.exec(s);
  if (m) {
    const fn = unquote(m[2]);
    return `${atomText(unquote(m[1]))}.${plainFun.test(fn) ? fn : quoted(fn)}/${m[3]}`;
  }
  if (/[<>{}[\], ]/.test(s)) return s;
  return atomText(unquote(s));
}

// pid is a pid as Elixir writes it (#PID<0.109.0>).
export function pid(s) {
  return typeof s === 'string' && s.startsWith('<') ? '#PID' + s : s;
}

// speller returns the functions that spell names and pids for a table:
// Elixir's when ex, else as given.
export function speller(ex) {
  return ex ? {name, pid} : {name: s => s, pid: s => s};
}
