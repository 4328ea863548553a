// Number, size, duration and time formatting, one way for every page.

export function bytes(n) {
  if (n == null || isNaN(n)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  n = Number(n);
  while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + u[i];
}

export function num(n, digits = 0) {
  if (n == null || isNaN(n)) return '–';
  n = Number(n);
  if (Math.abs(n) >= 1e9) return (n / 1e9).toFixed(1) + 'G';
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return n.toFixed(digits);
}

export function pct(ratio) {
  if (ratio == null || isNaN(ratio)) return '–';
  return (Number(ratio) * 100).toFixed(ratio < 0.1 ? 1 : 0) + ' %';
}

export function duration(seconds) {
  if (seconds == null || isNaN(seconds)) return '–';
  let s = Math.floor(Number(seconds));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${hh}h`;
  if (hh) return `${hh}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

export function time(t) {
  if (!t) return '–';
  const d = t instanceof Date ? t : new Date(t);
  if (isNaN(d)) return String(t);
  return d.toLocaleString(undefined, {hour12: false});
}

export function ago(t) {
  const d = t instanceof Date ? t : new Date(t);
  if (isNaN(d)) return '–';
  return duration((Date.now() - d.getTime()) / 1000) + ' ago';
}

// unit formats a value by the unit name the charts use.
export function byUnit(unit, v) {
  switch (unit) {
    case 'bytes': return bytes(v);
    case 'ratio': return pct(v);
    case 'seconds': return duration(v);
    default: return num(v, Math.abs(v) < 10 && v % 1 ? 2 : 0);
  }
}
