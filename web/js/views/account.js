// Account: who the user is and what they store.

import * as api from '../api.js';
import {clear, h} from '../dom.js';
import {bytes, dateTime} from '../format.js';
import {usageBar} from './usage.js';

export async function render(root) {
  clear(root);
  const section = h('section', {class: 'card', 'aria-labelledby': 'account-title'},
    h('h1', {id: 'account-title'}, 'Account'), h('p', {class: 'muted'}, 'Loading…'));
  root.append(section);
  const me = await api.get('/api/me');
  const u = me.usage;
  clear(section).append(
    h('h1', {id: 'account-title'}, 'Account'),
    h('dl', {class: 'facts'},
      h('dt', {}, 'Username'), h('dd', {id: 'account-username'}, me.username),
      h('dt', {}, 'Email'), h('dd', {id: 'account-email'}, me.email),
      h('dt', {}, 'Created'), h('dd', {}, dateTime(me.created_at)),
      h('dt', {}, 'Files'), h('dd', {}, u ? String(u.files) : '—'),
      h('dt', {}, 'Folders'), h('dd', {}, u ? String(u.folders) : '—'),
      h('dt', {}, 'Stored'), h('dd', {}, u ? bytes(u.used_bytes) : '—')),
    u ? usageBar(u) : h('p', {class: 'muted'}, 'Storage usage is unavailable right now.'));
}
