// The usage bar: bytes stored against the quota.

import {h} from '../dom.js';
import {bytes} from '../format.js';

export function usageBar(usage) {
  const quota = usage.quota_bytes;
  const limited = quota > 0;
  const pct = limited ? Math.min(100, (100 * usage.used_bytes) / quota) : 0;
  const text = limited
    ? `${bytes(usage.used_bytes)} of ${bytes(quota)} used`
    : `${bytes(usage.used_bytes)} used (no quota)`;
  const fill = h('span');
  // Through the CSSOM: the CSP refuses style="" attributes.
  fill.style.width = `${pct}%`;
  return h('div', {class: 'usage'},
    h('div', {class: `bar${pct > 90 ? ' full' : ''}`, role: 'progressbar',
      'aria-label': 'Storage used', 'aria-valuemin': 0, 'aria-valuemax': 100,
      'aria-valuenow': Math.round(pct)}, fill),
    h('small', {class: 'usage-text'}, text));
}
