// The Process page (not built yet).
import {h} from '../lib/dom.js';

export default {
  title: 'Process',
  render(root) {
    root.append(h('h1', {}, 'Process'), h('p', {}, 'This page is not built yet.'));
  },
};
