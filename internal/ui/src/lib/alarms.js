// What the Alarms and Alarm pages share: the severity badge, the
// operator's actions (acknowledge, comment, clear) and the live stream of
// alarm changes.
import {h} from './dom.js';
import {api, can} from './api.js';

// sevClass is the CSS class of a severity (.sev-critical, …).
export function sevClass(sev) {
  return 'sev-' + (['critical', 'major', 'minor', 'warning'].includes(sev) ? sev : 'ok');
}

export function sevBadge(sev) {
  return h('span', {class: 'badge ' + sevClass(sev)}, sev || 'none');
}

// stateBadge says whether the alarm is raised, acknowledged or cleared.
export function stateBadge(a) {
  if (!a.active) return h('span', {class: 'badge sev-ok'}, 'cleared');
  return h('span', {class: 'badge'}, a.acked_by ? 'acknowledged' : 'raised');
}

// act runs one action on an alarm (POST /api/v1/alarms/{id}/{action}).
export function act(id, action, body) {
  return api.post(`/api/v1/alarms/${encodeURIComponent(id)}/${action}`, body);
}

// commentDialog asks for a comment in a modal dialog; resolves to the
// text, or null when cancelled.
export function commentDialog(a) {
  return new Promise(resolve => {
    const id = 'comment-' + a.id;
    const text = h('textarea', {id, rows: 3, cols: 50, required: true, maxlength: 2000});
    let done = false;
    const finish = v => {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    const dlg = h('dialog', {class: 'comment-dialog', 'aria-labelledby': id + '-title', onclose: () => finish(null)},
      h('form', {method: 'dialog', onsubmit: e => {
        e.preventDefault();
        const v = text.value.trim();
        if (v) finish(v);
      }},
      h('h2', {id: id + '-title'}, `Comment on alarm #${a.id} (${a.rule})`),
      h('label', {for: id}, 'Comment'), h('br'), text,
      h('div', {class: 'row dialog-buttons'},
        h('button', {type: 'submit'}, 'Add comment'),
        h('button', {type: 'button', class: 'ghost', onclick: () => finish(null)}, 'Cancel'))));
    document.body.append(dlg);
    dlg.showModal();
    text.focus();
  });
}

// actions are the operator's buttons for an alarm (none for a viewer);
// onDone(alarm) gets the alarm as the action left it, onError(err) the
// refusal.
export function actions(a, onDone, onError) {
  if (!can('operator')) return null;
  const run = async (btn, action, body) => {
    btn.disabled = true;
    try {
      onDone(await act(a.id, action, body));
    } catch (e) {
      onError(e);
    } finally {
      btn.disabled = false;
    }
  };
  const label = what => `${what} alarm #${a.id} (${a.rule}${a.node ? ' on ' + a.node : ''})`;
  const b = (text, action, cls, ask) => {
    const btn = h('button', {type: 'button', class: cls, 'data-action': action, 'aria-label': label(text),
      onclick: async () => {
        let body;
        if (ask) {
          const t = await commentDialog(a);
          if (t == null) return;
          body = {text: t};
        }
        run(btn, action, body);
      }}, text);
    return btn;
  };
  return h('span', {class: 'alarm-actions'},
    a.active && !a.acked_by ? b('Acknowledge', 'ack', '') : null,
    a.active && a.acked_by ? b('Unacknowledge', 'unack', 'ghost') : null,
    b('Comment', 'comment', 'ghost', true),
    a.active ? b('Clear', 'clear', 'danger') : null);
}

// watchAlarms opens the stream of alarm changes and calls onChange
// (debounced: a burst of changes is one call) for each change, and when
// the stream says changes were lost; onState gets 'live' or
// 'reconnecting'. It is closed when the page is left (ctx.onLeave).
export function watchAlarms(ctx, onChange, onState, params) {
  const u = new URL('/api/v1/alarms/stream', location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v) u.searchParams.set(k, v);
  const es = new EventSource(u.pathname + u.search);
  let timer = null;
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, 250);
  };
  es.onmessage = kick;
  es.addEventListener('lost', kick);
  es.onopen = () => { onState('live'); kick(); }; // a reconnect may have missed changes
  es.onerror = () => onState(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  ctx.onLeave(() => { clearTimeout(timer); es.close(); });
  return es;
}
