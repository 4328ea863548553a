// The Alarm page (not built yet).
import {h} from '../lib/dom.js';

export default {
  title: 'Alarm',
  render(root) {
    root.append(h('h1', {}, 'Alarm'), h('p', {}, 'This page is not built yet.'));
  },
};
