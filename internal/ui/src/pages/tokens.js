// The Tokens page (not built yet).
import {h} from '../lib/dom.js';

export default {
  title: 'Tokens',
  role: 'admin',
  render(root) {
    root.append(h('h1', {}, 'Tokens'), h('p', {}, 'This page is not built yet.'));
  },
};
