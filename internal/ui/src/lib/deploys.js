// What the deploy pages share: state badges and the commands.
import {h} from './dom.js';
import {api} from './api.js';

const stateClass = {
  planned: '', running: 'sev-minor', paused: 'sev-warning', rolling_back: 'sev-major',
  succeeded: 'sev-ok', failed: 'sev-critical', aborted: 'sev-warning', rolled_back: 'sev-warning',
  pending: '', loading: 'sev-minor', baking: 'sev-minor', passed: 'sev-ok', loaded: 'sev-ok',
};

export function stateBadge(state) {
  return h('span', {class: ('badge state ' + (stateClass[state] || '')).trim(), dataset: {state}}, state.replace('_', ' '));
}

export const active = s => s === 'running' || s === 'paused' || s === 'rolling_back';

export function scope(d) {
  return d.family ? `family ${d.family} of ${d.cluster}` : `cluster ${d.cluster}`;
}

export function modules(d) {
  const ms = (d.modules || []).map(m => m.module);
  return ms.length > 3 ? ms.slice(0, 3).join(', ') + ` and ${ms.length - 3} more` : ms.join(', ');
}

// commands lists what an admin may do in the deploy's state, with the
// confirmation each asks.
export function commands(d) {
  const s = d.state;
  const out = [];
  if (s === 'planned') out.push(['start', 'Start', `Start deploy ${d.id}: ${d.waves.length} waves over ${d.nodes.length} nodes?`, d.refusals.length > 0]);
  if (s === 'running') out.push(['pause', 'Pause', `Pause deploy ${d.id} after its current step?`]);
  if (s === 'paused') out.push(['resume', 'Resume', `Resume deploy ${d.id}? The current wave's bake starts again.`]);
  if (s === 'planned' || s === 'running' || s === 'paused') out.push(['abort', 'Abort', `Abort deploy ${d.id}? The nodes keep the code they have now.`]);
  if (['running', 'paused', 'succeeded', 'aborted', 'failed'].includes(s)) {
    out.push(['rollback', 'Roll back', `Roll back deploy ${d.id}? Every node it loaded gets back the code it ran before.`]);
  }
  return out;
}

export function command(d, action) {
  return api.post(`/api/v1/deploys/${encodeURIComponent(d.id)}/${action}`);
}
