// The Families page (not built yet).
import {h} from '../lib/dom.js';

export default {
  title: 'Families',
  render(root) {
    root.append(h('h1', {}, 'Families'), h('p', {}, 'This page is not built yet.'));
  },
};
