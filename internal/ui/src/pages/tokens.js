// The Tokens/users page (admin): the API tokens (create, with the secret
// shown once; revoke, after a confirmation) and the users of the web
// configuration with their roles.
import {h, replace, table, section, errorBox} from '../lib/dom.js';
import {api} from '../lib/api.js';
import {time} from '../lib/format.js';

const expiries = [['30d', '30 days'], ['90d', '90 days'], ['365d', '1 year'], ['1d', '1 day'], ['', 'never']];

// secretBox shows a new token's secret, once, ready to copy.
function secretBox(tok) {
  const input = h('input', {id: 'token-secret', class: 'mono secret', readonly: true, value: tok.token, size: 56,
    onfocus: e => e.target.select()});
  const copied = h('span', {class: 'muted', role: 'status'});
  return h('div', {class: 'card secret-box', role: 'alert'},
    h('h2', {}, `Token “${tok.name}” created`),
    h('p', {class: 'warning-text'}, 'Copy this token now: it is shown only this once. The server keeps only its hash; ',
      'if it is lost, revoke it and create another.'),
    h('div', {class: 'row'},
      h('label', {for: 'token-secret'}, 'Token'), input,
      h('button', {type: 'button', onclick: async () => {
        input.select();
        try {
          await navigator.clipboard.writeText(tok.token);
          copied.textContent = 'Copied.';
        } catch (e) {
          copied.textContent = 'Select the field and copy it (Ctrl+C).';
        }
      }}, 'Copy'), copied),
    h('p', {class: 'muted'}, 'Use it as ', h('code', {}, 'Authorization: Bearer <token>'), '.'));
}

export default {
  title: 'Tokens',
  role: 'admin',
  async render(root) {
    const notice = h('div', {});
    const tokens = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
    const users = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));

    const load = async () => {
      try {
        const ts = await api.get('/api/v1/tokens');
        replace(tokens, table([
          {label: 'Name', value: t => t.name},
          {label: 'Role', value: t => h('span', {class: 'badge role-' + t.role}, t.role)},
          {label: 'Created', value: t => time(t.created)},
          {label: 'By', value: t => t.creator},
          {label: 'Expires', value: t => t.expires ? time(t.expires) : 'never'},
          {label: 'Last used', value: t => t.last_used ? time(t.last_used) : 'never'},
          {label: 'Revoke', value: t => h('button', {type: 'button', class: 'danger', 'aria-label': `Revoke ${t.name}`,
            onclick: () => revoke(t)}, 'Revoke')},
        ], ts, {empty: 'No API token.', rowAttrs: t => ({dataset: {token: t.name}})}));
      } catch (e) {
        replace(tokens, errorBox(e));
      }
    };
    const revoke = async t => {
      if (!confirm(`Revoke the token “${t.name}” (${t.role})? Whatever uses it is refused from now on.`)) return;
      try {
        await api.del('/api/v1/tokens/' + encodeURIComponent(t.id));
        replace(notice, h('p', {class: 'card', role: 'status'}, `Token “${t.name}” revoked.`));
      } catch (e) {
        replace(notice, errorBox(e));
      }
      await load();
    };

    const form = h('form', {class: 'row create-token', 'aria-label': 'Create a token',
      async onsubmit(e) {
        e.preventDefault();
        const el = form.elements;
        try {
          const tok = await api.post('/api/v1/tokens', {name: el.name.value.trim(), role: el.role.value, expires: el.expires.value});
          form.reset();
          replace(notice, secretBox(tok));
          notice.querySelector('input')?.focus();
        } catch (err) {
          replace(notice, errorBox(err));
        }
        await load();
      }},
      h('label', {for: 'tk-name'}, 'Name ', h('input', {id: 'tk-name', name: 'name', required: true, size: 20, placeholder: 'e.g. grafana'})),
      h('label', {for: 'tk-role'}, 'Role ', h('select', {id: 'tk-role', name: 'role'},
        ['viewer', 'operator', 'admin'].map(r => h('option', {value: r}, r)))),
      h('label', {for: 'tk-expires'}, 'Expires after ', h('select', {id: 'tk-expires', name: 'expires'},
        expiries.map(([v, l]) => h('option', {value: v}, l)))),
      h('button', {type: 'submit'}, 'Create token'));

    root.append(h('h1', {}, 'Tokens and users'), notice,
      section('API tokens', form, tokens),
      section('Users', h('p', {class: 'muted'}, 'The users of the web configuration file (basic_auth_users) and their ',
        'roles (web.roles in the configuration; a user not listed there is a viewer). They are changed in those files.'), users));
    await load();
    try {
      const us = await api.get('/api/v1/users');
      replace(users, table([
        {label: 'User', value: u => u.name},
        {label: 'Role', value: u => h('span', {class: 'badge role-' + u.role}, u.role)},
      ], us, {empty: 'No user: this server has no web configuration file.'}));
    } catch (e) {
      replace(users, errorBox(e));
    }
  },
};
