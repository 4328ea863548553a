// The login page: a user of the server's web configuration
// (basic_auth_users) gets a session cookie.
import {h, errorBox} from '../lib/dom.js';
import {login} from '../lib/api.js';
import {navigate} from '../lib/router.js';

export default {
  title: 'Log in',
  render(root, params, ctx) {
    const err = h('div', {'aria-live': 'assertive'});
    const user = h('input', {id: 'login-user', name: 'user', autocomplete: 'username', required: true});
    const pass = h('input', {id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true});
    const form = h('form', {class: 'login card', onsubmit: async e => {
      e.preventDefault();
      err.replaceChildren();
      try {
        await login(user.value, pass.value);
        const next = ctx.query.get('next');
        navigate(next && next.startsWith('/ui/') && !next.startsWith('/ui/login') ? next : '/ui/', {replace: true});
      } catch (x) {
        err.append(errorBox(x));
        pass.value = '';
        pass.focus();
      }
    }},
    h('h1', {}, 'Log in to beamctl'),
    h('label', {for: 'login-user'}, 'User'), user,
    h('label', {for: 'login-password'}, 'Password'), pass,
    h('button', {type: 'submit'}, 'Log in'), err);
    root.append(form);
    user.focus();
  },
};
