// The Query page (not built yet).
import {h} from '../lib/dom.js';

export default {
  title: 'Query',
  render(root) {
    root.append(h('h1', {}, 'Query'), h('p', {}, 'This page is not built yet.'));
  },
};
