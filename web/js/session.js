// The signed-in user's token. Kept in sessionStorage: it survives a reload
// of this tab but not closing it, and other tabs and sites never see it.
// localStorage would keep a 24 h credential on disk after the browser
// closes; memory alone would sign the user out on every reload. Any
// script of the page could read either, which is why the page runs no
// script but its own (Content-Security-Policy: script-src 'self').

const KEY = 'nexus.session';

export function current() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return s && s.token ? s : null;
  } catch {
    return null;
  }
}

export function save(token, username) {
  sessionStorage.setItem(KEY, JSON.stringify({token, username}));
}

export function forget() {
  sessionStorage.removeItem(KEY);
}
