// Sign in and register: credentials, then the 6-digit code the server
// mailed, with a resend button that counts down the server's 30 s cooldown.

import * as api from '../api.js';
import {clear, field, h} from '../dom.js';

const RESEND_SECONDS = 30;

let settings = null;
async function uiSettings() {
  if (!settings) {
    try {
      settings = await (await fetch('/ui-settings.json')).json();
    } catch {
      settings = {};
    }
  }
  return settings;
}

// Renders into `root`; calls onSignedIn(token, username) at the end.
export function render(root, onSignedIn, mode = 'signin') {
  clear(root);
  const card = h('section', {class: 'card auth', 'aria-labelledby': 'auth-title'});
  root.append(h('div', {class: 'auth-page'}, card));
  if (mode === 'register') registerStep(card, onSignedIn);
  else signInStep(card, onSignedIn);
}

function errorBox() {
  return h('p', {class: 'error', role: 'alert', hidden: true});
}

function showError(box, err) {
  box.textContent = err.message || String(err);
  box.hidden = false;
}

function submitting(form, busy) {
  for (const b of form.querySelectorAll('button')) b.disabled = busy;
}

// A step that sends credentials: `fields` in a form whose submit calls
// init() and, when the server has mailed a code, next(init, answer).
function credentialsStep(card, {title, fields, submitLabel, init, next, other}) {
  clear(card);
  const err = errorBox();
  const form = h('form', {onsubmit: async (e) => {
    e.preventDefault();
    err.hidden = true;
    submitting(form, true);
    try {
      next(init, await init());
    } catch (ex) {
      showError(err, ex);
      submitting(form, false);
    }
  }},
  fields, err,
  h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, submitLabel)));
  card.append(h('h1', {id: 'auth-title'}, title), form,
    h('p', {class: 'muted'}, other.prompt,
      h('button', {type: 'button', class: 'link', onclick: other.go}, other.label)));
  form.querySelector('input').focus();
}

function signInStep(card, onSignedIn) {
  const username = h('input', {type: 'text', name: 'username', autocomplete: 'username',
    required: true, autocapitalize: 'none'});
  const password = h('input', {type: 'password', name: 'password',
    autocomplete: 'current-password', required: true});
  credentialsStep(card, {
    title: 'Sign in to Nexus',
    fields: [field('Username', username), field('Password', password)],
    submitLabel: 'Sign in',
    init: () => api.post('/auth/login/init',
      {Username: username.value.trim(), Password: password.value}),
    // "OTP sent to alice@example.com": the address the code went to.
    next: (init, answer) => codeStep(card, {
      email: String(answer.message || '').replace(/^OTP sent to /, ''),
      verifyPath: '/auth/login/verify', resend: init, onSignedIn,
      back: () => signInStep(card, onSignedIn)}),
    other: {prompt: 'No account yet? ', label: 'Create one',
      go: () => registerStep(card, onSignedIn)},
  });
}

function registerStep(card, onSignedIn) {
  const username = h('input', {type: 'text', name: 'username', autocomplete: 'username',
    required: true, autocapitalize: 'none'});
  const email = h('input', {type: 'email', name: 'email', autocomplete: 'email', required: true});
  const password = h('input', {type: 'password', name: 'password',
    autocomplete: 'new-password', required: true});
  credentialsStep(card, {
    title: 'Create an account',
    fields: [field('Username', username),
      field('Email', email, 'The confirmation code is sent here.'),
      field('Password', password)],
    submitLabel: 'Create account',
    init: () => api.post('/auth/register/init', {Username: username.value.trim(),
      Email: email.value.trim(), Password: password.value}),
    next: (init) => codeStep(card, {email: email.value.trim(),
      verifyPath: '/auth/register/verify', resend: init, onSignedIn,
      back: () => registerStep(card, onSignedIn)}),
    other: {prompt: 'Have an account? ', label: 'Sign in',
      go: () => signInStep(card, onSignedIn)},
  });
}

function codeStep(card, {email, verifyPath, resend, onSignedIn, back}) {
  clear(card);
  const code = h('input', {type: 'text', name: 'code', inputmode: 'numeric', pattern: '[0-9]{6}',
    maxlength: 6, autocomplete: 'one-time-code', required: true});
  const err = errorBox();
  const resendBtn = h('button', {type: 'button', class: 'secondary', id: 'resend'});
  const outbox = h('p', {class: 'note', hidden: true},
    'This server writes its mail to an outbox folder instead of sending it ',
    '(a development setup): the code is in the newest .eml file of the outbox ',
    '(var/mail/outbox under `make run`).');
  uiSettings().then((s) => { outbox.hidden = !s.mail_outbox; });

  let timer = null;
  const countdown = (seconds) => {
    clearInterval(timer);
    let left = seconds;
    const tick = () => {
      if (!resendBtn.isConnected) { clearInterval(timer); return; }
      resendBtn.disabled = left > 0;
      resendBtn.textContent = left > 0 ? `Resend code in ${left} s` : 'Resend code';
      left--;
      if (left < -1) clearInterval(timer);
    };
    tick();
    timer = setInterval(tick, 1000);
  };
  resendBtn.addEventListener('click', async () => {
    err.hidden = true;
    try {
      await resend();
      countdown(RESEND_SECONDS);
    } catch (ex) {
      showError(err, ex);
      countdown(ex.retryAfter || 0);
    }
  });

  const form = h('form', {onsubmit: async (e) => {
    e.preventDefault();
    err.hidden = true;
    submitting(form, true);
    try {
      const answer = await api.post(verifyPath, {Email: email, Code: code.value.trim()});
      clearInterval(timer);
      onSignedIn(answer.token, answer.username);
    } catch (ex) {
      showError(err, ex);
      submitting(form, false);
      resendBtn.disabled = resendBtn.textContent !== 'Resend code';
      code.select();
    }
  }},
  field('6-digit code', code, `Sent to ${email}. It is valid for 5 minutes.`),
  err,
  h('div', {class: 'actions'},
    h('button', {type: 'button', class: 'secondary', onclick: () => { clearInterval(timer); back(); }},
      'Back'),
    resendBtn,
    h('button', {type: 'submit', class: 'primary'}, 'Verify')));
  card.append(h('h1', {id: 'auth-title'}, 'Enter the code'), outbox, form);
  countdown(RESEND_SECONDS);
  code.focus();
}
