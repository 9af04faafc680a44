// Lambda: a Python snippet, its stdin and limits; Ctrl+Enter (or Cmd+Enter)
// runs it. The last runs stay listed in the page (not stored anywhere).

import * as api from '../api.js';
import {clear, field, h} from '../dom.js';

const KEEP_RUNS = 10;
const runs = [];
let draft = "print('hello from nexus')\n";
let ui = null;

export function leave() { ui = null; }

export function render(root) {
  if (ui && ui.page.isConnected) return;
  clear(root);
  const code = h('textarea', {class: 'code', id: 'lambda-code', rows: 14, spellcheck: 'false',
    autocapitalize: 'none', value: draft});
  code.value = draft;
  code.addEventListener('input', () => { draft = code.value; });
  code.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run();
    } else if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey) {
      // Tab indents; Escape then Tab leaves the editor (keyboard users).
      if (code.dataset.escaped) { delete code.dataset.escaped; return; }
      e.preventDefault();
      code.setRangeText('    ', code.selectionStart, code.selectionEnd, 'end');
      draft = code.value;
    } else if (e.key === 'Escape') {
      code.dataset.escaped = '1';
    }
  });
  const stdin = h('textarea', {class: 'code', id: 'lambda-stdin', rows: 3, spellcheck: 'false'});
  const timeout = h('input', {type: 'number', id: 'lambda-timeout', min: 1, step: 1,
    placeholder: 'server default', inputmode: 'numeric'});
  const memory = h('input', {type: 'number', id: 'lambda-memory', min: 1, step: 1,
    placeholder: 'server default', inputmode: 'numeric'});
  const runBtn = h('button', {type: 'submit', class: 'primary', id: 'lambda-run'}, 'Run');
  const result = h('div', {class: 'lambda-result', 'aria-live': 'polite', id: 'lambda-result'});
  const history = h('ol', {class: 'lambda-history', reversed: true});
  ui = {page: h('section', {class: 'lambda', 'aria-labelledby': 'lambda-title'}), result, history};

  async function run() {
    const body = {Code: code.value, Runtime: 'python3'};
    if (stdin.value) body.Stdin = stdin.value;
    if (timeout.value) body.TimeoutMs = Number(timeout.value);
    if (memory.value) body.MemoryMb = Number(memory.value);
    runBtn.disabled = true;
    runBtn.textContent = 'Running…';
    const started = new Date();
    try {
      const r = await api.post('/api/lambda/run', body);
      record({when: started, code: code.value, ok: true, r});
    } catch (err) {
      record({when: started, code: code.value, ok: false, error: err.message});
    } finally {
      runBtn.disabled = false;
      runBtn.textContent = 'Run';
    }
  }

  const form = h('form', {onsubmit: (e) => { e.preventDefault(); run(); }},
    field('Python code', code, 'Ctrl+Enter runs it. Tab indents; Escape, then Tab, leaves the editor.'),
    field('Standard input', stdin),
    h('div', {class: 'row-fields'},
      field('Timeout (ms)', timeout), field('Memory (MB)', memory)),
    h('div', {class: 'actions'}, runBtn));
  ui.page.append(h('h1', {id: 'lambda-title'}, 'Lambda'),
    h('div', {class: 'card'}, form), result,
    h('h2', {}, 'Recent runs'), history);
  root.append(ui.page);
  for (const r of runs) drawHistoryItem(r);
  if (runs.length) drawResult(runs[runs.length - 1]);
}

function record(entry) {
  runs.push(entry);
  if (runs.length > KEEP_RUNS) runs.shift();
  if (!ui) return;
  drawResult(entry);
  drawHistoryItem(entry);
  while (ui.history.children.length > KEEP_RUNS) ui.history.lastChild.remove();
}

function flags(r) {
  const out = [];
  if (r.signal) out.push(`signal ${r.signal}`);
  if (r.timed_out) out.push('timed out');
  if (r.oom_killed) out.push('out of memory');
  if (r.stdout_truncated) out.push('stdout truncated');
  if (r.stderr_truncated) out.push('stderr truncated');
  return out;
}

function drawResult(entry) {
  clear(ui.result);
  if (!entry.ok) {
    ui.result.append(h('p', {class: 'error', role: 'alert'}, entry.error));
    return;
  }
  const r = entry.r;
  ui.result.append(
    h('dl', {class: 'facts inline'},
      h('dt', {}, 'Exit code'), h('dd', {id: 'lambda-exit'}, String(r.exit_code)),
      h('dt', {}, 'Time'), h('dd', {}, `${r.execution_time_ms} ms`),
      h('dt', {}, 'Flags'), h('dd', {id: 'lambda-flags'}, flags(r).join(', ') || 'none')),
    h('h3', {}, 'stdout'), h('pre', {class: 'out', id: 'lambda-stdout'}, r.stdout),
    h('h3', {}, 'stderr'), h('pre', {class: 'out err', id: 'lambda-stderr'}, r.stderr));
}

function drawHistoryItem(entry) {
  const summary = entry.ok
    ? `exit ${entry.r.exit_code}, ${entry.r.execution_time_ms} ms${flags(entry.r).length ? `, ${flags(entry.r).join(', ')}` : ''}`
    : `error: ${entry.error}`;
  const first = entry.code.split('\n').find((l) => l.trim()) || '(empty)';
  ui.history.prepend(h('li', {},
    h('button', {type: 'button', class: 'link', onclick: () => drawResult(entry)},
      `${entry.when.toLocaleTimeString()} — ${first.slice(0, 60)}`), ' ', h('small', {}, summary)));
}
