// The Alarms page (not built yet).
import {h} from '../lib/dom.js';

export default {
  title: 'Alarms',
  render(root) {
    root.append(h('h1', {}, 'Alarms'), h('p', {}, 'This page is not built yet.'));
  },
};
