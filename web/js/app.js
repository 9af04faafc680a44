// The page's shell: who is signed in, the section chosen by the URL's hash
// (#/files/docs, #/nodes, #/lambda, #/account), and sign-out. Each section
// is a module with render(root, route) and an optional leave() that stops
// its timers.

import * as api from './api.js';
import {clear, toast} from './dom.js';
import * as marks from './marks.js';
import * as session from './session.js';
import * as auth from './views/auth.js';
import * as files from './views/files.js';
import * as nodes from './views/nodes.js';
import * as lambda from './views/lambda.js';
import * as account from './views/account.js';

const sections = {files, nodes, lambda, account};
const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
let active = null;

function leaveActive() {
  if (active && active.leave) active.leave();
  active = null;
}

function showSignIn() {
  leaveActive();
  topbar.hidden = true;
  document.title = 'Sign in · Nexus';
  auth.render(main, (token, username) => {
    session.save(token, username);
    if (!location.hash.startsWith('#/')) location.hash = '#/files';
    route();
  });
  marks.interactive();
}

function route() {
  const s = session.current();
  if (!s) { showSignIn(); return; }
  topbar.hidden = false;
  document.getElementById('who').textContent = s.username;
  const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : 'files';
  const slash = hash.indexOf('/');
  const name = slash < 0 ? hash : hash.slice(0, slash);
  const rest = slash < 0 ? '' : decodeURIComponent(hash.slice(slash + 1));
  const section = sections[name] ? name : 'files';
  for (const a of topbar.querySelectorAll('nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const mod = sections[section];
  if (active !== mod) {
    leaveActive();
    active = mod;
    clear(main);
  }
  document.title = `${section[0].toUpperCase()}${section.slice(1)} · Nexus`;
  mod.render(main, rest);
  // Files marks itself once its first listing is drawn; the other sections
  // are usable as soon as they are rendered.
  if (mod !== files) marks.interactive();
}

async function signOut() {
  leaveActive();
  try {
    await api.post('/auth/logout');
  } catch { /* the token is forgotten here whatever the server says */ }
  session.forget();
  history.replaceState(null, '', '/');
  clear(main);
  showSignIn();
}

api.setUnauthorizedHandler(() => {
  if (!session.current()) return;
  session.forget();
  toast('Your session has ended: please sign in again.', 'error');
  showSignIn();
});

document.getElementById('logout').addEventListener('click', signOut);
window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', (e) => {
  toast(e.reason && e.reason.message ? e.reason.message : String(e.reason), 'error');
  e.preventDefault();
});
route();
