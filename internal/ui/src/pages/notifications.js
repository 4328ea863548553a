// The Notifications page (not built yet).
import {h} from '../lib/dom.js';

export default {
  title: 'Notifications',
  render(root) {
    root.append(h('h1', {}, 'Notifications'), h('p', {}, 'This page is not built yet.'));
  },
};
