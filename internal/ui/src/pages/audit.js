// The Audit page (not built yet).
import {h} from '../lib/dom.js';

export default {
  title: 'Audit',
  role: 'admin',
  render(root) {
    root.append(h('h1', {}, 'Audit'), h('p', {}, 'This page is not built yet.'));
  },
};
