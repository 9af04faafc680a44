// Nodes: the user's containers with status, IP and limits; a create form
// that checks what the API checks; start, stop, delete; and for the node
// opened below the list an exec console and live memory/CPU charts from
// the metrics history, refreshed every 5 s.

import * as api from '../api.js';
import {lineChart} from '../chart.js';
import {clear, confirmDialog, field, h, toast} from '../dom.js';
import {bytes} from '../format.js';

const REFRESH_MS = 5000;
// As the daemon: 1-32 of a-z, 0-9 and '-', starting with a letter or digit.
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
// "512M", "1G", "1.5GiB", "1073741824": binary units, case-insensitive.
const SIZE_RE = /^[0-9]+(\.[0-9]+)?([kmgt](i?b)?)?$/i;
const MIN_MEMORY_MB = 16;
const MIN_CPU_SHARES = 2;
const MAX_CPU_SHARES = 262144;

let ui = null;
let timer = null;

export function leave() {
  clearInterval(timer);
  timer = null;
  ui = null;
}

export function render(root, rest) {
  if (!ui || !ui.page.isConnected) build(root);
  ui.open = rest || null;
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, REFRESH_MS);
}

function build(root) {
  clear(root);
  ui = {
    page: h('section', {class: 'nodes', 'aria-labelledby': 'nodes-title'}),
    list: h('div', {class: 'node-list', id: 'node-list', 'aria-live': 'polite'}),
    detail: h('div', {class: 'node-detail'}),
    open: null,
    openBuilt: null,
  };
  ui.page.append(h('h1', {id: 'nodes-title'}, 'Nodes'), createForm(), ui.list, ui.detail);
  root.append(ui.page);
}

function createForm() {
  const name = h('input', {type: 'text', id: 'node-name', required: true, maxlength: 32,
    pattern: NAME_RE.source.slice(1, -1), autocapitalize: 'none', autocomplete: 'off'});
  const memory = h('input', {type: 'number', id: 'node-memory', min: MIN_MEMORY_MB, step: 1,
    value: 256});
  const cpu = h('input', {type: 'number', id: 'node-cpu', min: MIN_CPU_SHARES,
    max: MAX_CPU_SHARES, step: 1, value: 512});
  const disk = h('input', {type: 'text', id: 'node-disk', value: '1G', autocomplete: 'off'});
  const err = h('p', {class: 'error', role: 'alert', hidden: true});
  const check = () => {
    if (!NAME_RE.test(name.value)) {
      return 'Name: 1-32 characters of a-z, 0-9 and "-", starting with a letter or digit.';
    }
    if (!Number.isInteger(Number(memory.value)) || Number(memory.value) < MIN_MEMORY_MB) {
      return `Memory: a whole number of MB, at least ${MIN_MEMORY_MB}.`;
    }
    const c = Number(cpu.value);
    if (!Number.isInteger(c) || c < MIN_CPU_SHARES || c > MAX_CPU_SHARES) {
      return `CPU shares: a whole number from ${MIN_CPU_SHARES} to ${MAX_CPU_SHARES}.`;
    }
    if (!SIZE_RE.test(disk.value.trim())) return 'Disk: a size such as 512M or 1G.';
    return '';
  };
  const submit = h('button', {type: 'submit', class: 'primary', id: 'node-create'}, 'Create node');
  const form = h('form', {class: 'card', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const problem = check();
    err.textContent = problem;
    err.hidden = !problem;
    if (problem) return;
    submit.disabled = true;
    submit.textContent = 'Creating…';
    try {
      const n = await api.post('/api/nodes', {name: name.value, memory_mb: Number(memory.value),
        cpu_shares: Number(cpu.value), storage_size: disk.value.trim()});
      toast(`Node ${n.name || n.id} created at ${n.ip}`);
      name.value = '';
      refresh();
    } catch (ex) {
      err.textContent = ex.message;
      err.hidden = false;
    } finally {
      submit.disabled = false;
      submit.textContent = 'Create node';
    }
  }},
  h('h2', {}, 'New node'),
  h('div', {class: 'row-fields'},
    field('Name', name), field('Memory (MB)', memory), field('CPU shares', cpu),
    field('Disk', disk, 'e.g. 512M, 1G')),
  err, h('div', {class: 'actions'}, submit));
  return form;
}

async function refresh() {
  if (!ui) return;
  let nodes;
  try {
    nodes = await api.get('/api/nodes');
  } catch (err) {
    if (!ui) return;
    clear(ui.list).append(h('p', {class: 'error', role: 'alert'}, err.message));
    return;
  }
  if (!ui) return;
  drawList(nodes);
  const open = nodes.find((n) => n.id === ui.open);
  if (open) await drawDetail(open);
  else { clear(ui.detail); ui.openBuilt = null; }
}

function drawList(nodes) {
  clear(ui.list);
  if (!nodes.length) {
    ui.list.append(h('p', {class: 'muted'}, 'No nodes yet.'));
    return;
  }
  const rows = nodes.map((n) => h('tr', {dataset: {node: n.id}},
    h('th', {scope: 'row'}, h('a', {href: `#/nodes/${encodeURIComponent(n.id)}`}, n.name || n.id)),
    h('td', {class: `status s-${String(n.status).toLowerCase()}`}, n.status),
    h('td', {}, n.ip || '—'),
    h('td', {}, `${n.memory_mb} MB`),
    h('td', {}, String(n.cpu_shares)),
    h('td', {}, n.storage_size),
    h('td', {class: 'actions'},
      n.status === 'Running'
        ? h('button', {type: 'button', class: 'secondary small',
          'aria-label': `Stop ${n.id}`, onclick: () => act(n, 'stop')}, 'Stop')
        : h('button', {type: 'button', class: 'secondary small',
          'aria-label': `Start ${n.id}`, onclick: () => act(n, 'start')}, 'Start'),
      h('button', {type: 'button', class: 'danger small', 'aria-label': `Delete ${n.id}`,
        onclick: () => removeNode(n)}, 'Delete'))));
  ui.list.append(h('div', {class: 'table-wrap'}, h('table', {},
    h('thead', {}, h('tr', {}, ...['Name', 'Status', 'IP', 'Memory', 'CPU shares', 'Disk', 'Actions']
      .map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', {}, rows))));
}

async function act(node, verb) {
  try {
    await api.post(`/api/nodes/${encodeURIComponent(node.id)}/${verb}`);
    toast(`Node ${node.id} ${verb === 'stop' ? 'stopped' : 'started'}`);
  } catch (err) {
    toast(`Cannot ${verb} ${node.id}: ${err.message}`, 'error');
  }
  refresh();
}

async function removeNode(node) {
  if (!await confirmDialog('Delete node', `Delete the node ${node.id} and its disk?`, 'Delete',
    true)) return;
  try {
    await api.del(`/api/nodes/${encodeURIComponent(node.id)}`);
    toast(`Node ${node.id} deleted`);
    if (ui && ui.open === node.id) location.hash = '#/nodes';
  } catch (err) {
    toast(`Cannot delete ${node.id}: ${err.message}`, 'error');
  }
  refresh();
}

async function drawDetail(node) {
  if (ui.openBuilt !== node.id) {
    ui.openBuilt = node.id;
    clear(ui.detail).append(
      h('h2', {}, `Node ${node.id}`),
      h('div', {class: 'charts'},
        h('figure', {}, h('figcaption', {}, 'Memory vs limit'), h('div', {id: 'chart-memory'})),
        h('figure', {}, h('figcaption', {}, 'CPU %'), h('div', {id: 'chart-cpu'}))),
      execConsole(node));
  }
  try {
    const m = await api.get(`/api/nodes/${encodeURIComponent(node.id)}/metrics?history=1`);
    if (!ui || ui.openBuilt !== node.id) return;
    const hist = m.history || [];
    const mem = hist.map((p) => [p.timestamp_ms, p.memory_usage]);
    const cpu = hist.map((p) => [p.timestamp_ms, p.cpu_percent]);
    clear(ui.detail.querySelector('#chart-memory')).append(lineChart({
      title: `Memory of ${node.id}: ${bytes(m.memory_usage)} of ${bytes(m.memory_limit)}`,
      series: [{name: 'memory', cls: 's-memory', points: mem}],
      max: m.memory_limit, format: bytes}));
    clear(ui.detail.querySelector('#chart-cpu')).append(lineChart({
      title: `CPU of ${node.id}: ${Number(m.cpu_percent).toFixed(1)} %`,
      series: [{name: 'cpu', cls: 's-cpu', points: cpu}],
      max: 0, floor: 1, format: (v) => `${v.toFixed(1)} %`}));
  } catch (err) {
    const slot = ui && ui.detail.querySelector('#chart-memory');
    if (slot) clear(slot).append(h('p', {class: 'muted'}, `No metrics: ${err.message}`));
  }
}

function execConsole(node) {
  const cmd = h('input', {type: 'text', id: 'exec-command', autocomplete: 'off',
    spellcheck: 'false', placeholder: 'ip addr', required: true});
  const out = h('pre', {class: 'out', id: 'exec-output', 'aria-live': 'polite'});
  const exit = h('span', {id: 'exec-exit'});
  const run = h('button', {type: 'submit', class: 'primary'}, 'Run');
  return h('form', {class: 'card exec', onsubmit: async (e) => {
    e.preventDefault();
    run.disabled = true;
    exit.textContent = 'running…';
    try {
      const r = await api.post(`/api/nodes/${encodeURIComponent(node.id)}/exec`,
        {command: ['sh', '-c', cmd.value]});
      out.textContent = r.stdout + (r.stderr ? `\n[stderr]\n${r.stderr}` : '');
      exit.textContent = `exit code ${r.exit_code}${r.timed_out ? ' (timed out)' : ''}`;
    } catch (err) {
      out.textContent = '';
      exit.textContent = `error: ${err.message}`;
    } finally {
      run.disabled = false;
    }
  }},
  h('h3', {}, 'Console'),
  field('Command (run with sh -c)', cmd),
  h('div', {class: 'actions'}, run, exit), out);
}
