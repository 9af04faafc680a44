// Building DOM without innerHTML: every text a user or the server supplies
// lands in a text node, so a file called "<img onerror=...>" is only a name.

// h('button', {class: 'x', onclick: fn, 'aria-label': 'Close'}, 'text', child)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'value' || key === 'checked' || key === 'disabled') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let fieldIds = 0;
// A labelled form field: the label is tied to the control by id.
export function field(label, control, hint) {
  if (!control.id) control.id = `f${++fieldIds}`;
  return h('div', {class: 'field'},
    h('label', {for: control.id}, label), control,
    hint ? h('small', {class: 'hint'}, hint) : null);
}

export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const t = h('div', {class: `toast ${kind}`}, message);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

// A modal <dialog> (focus is trapped and Escape closes it, by the browser).
// `build(close)` returns the dialog's content; resolves with what close() got.
export function modal(title, build) {
  return new Promise((resolve) => {
    const dlg = h('dialog', {'aria-label': title});
    const close = (value) => { dlg.close(); dlg.remove(); resolve(value); };
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); close(undefined); });
    dlg.append(h('h2', {}, title), build(close));
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector('input, textarea, button.primary, button');
    if (first) first.focus();
  });
}

export function confirmDialog(title, message, action = 'OK', danger = false) {
  return modal(title, (close) => h('form', {method: 'dialog', onsubmit: (e) => {
    e.preventDefault(); close(true);
  }},
  h('p', {}, message),
  h('div', {class: 'actions'},
    h('button', {type: 'button', class: 'secondary', onclick: () => close(false)}, 'Cancel'),
    h('button', {type: 'submit', class: danger ? 'danger' : 'primary'}, action))));
}

export function promptDialog(title, label, value, action = 'OK') {
  return modal(title, (close) => {
    const input = h('input', {type: 'text', value, required: true, autocomplete: 'off'});
    return h('form', {onsubmit: (e) => { e.preventDefault(); close(input.value); }},
      field(label, input),
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'secondary', onclick: () => close(undefined)},
          'Cancel'),
        h('button', {type: 'submit', class: 'primary'}, action)));
  });
}
