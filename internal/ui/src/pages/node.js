// The Node page (not built yet).
import {h} from '../lib/dom.js';

export default {
  title: 'Node',
  render(root) {
    root.append(h('h1', {}, 'Node'), h('p', {}, 'This page is not built yet.'));
  },
};
