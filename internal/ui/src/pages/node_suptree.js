// The Node page's Supervision trees tab (a stub: another part of issue 13
// builds it with this shape).
import {h} from '../lib/dom.js';

export default {
  id: 'suptree',
  label: 'Supervision trees',
  role: 'operator',
  render(panel) {
    panel.append(h('p', {class: 'empty'}, 'Supervision trees are not built yet.'));
  },
};
