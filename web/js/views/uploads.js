// The upload queue: each file its own row with a progress bar, speed and a
// cancel button; three transfers at a time; errors (a full quota is 507)
// stay on the file's row.

import * as api from '../api.js';
import {h} from '../dom.js';
import {bytes, rate} from '../format.js';
import * as marks from '../marks.js';

const PARALLEL = 3;
const queue = [];
let running = 0;
let panel = null;
let onFileDone = () => {};

export function setOnFileDone(fn) { onFileDone = fn; }

// The panel, created once and moved into whichever page shows it.
export function uploadPanel() {
  if (!panel) {
    panel = h('section', {class: 'uploads', 'aria-label': 'Uploads', hidden: true},
      h('div', {class: 'uploads-head'}, h('h2', {}, 'Uploads'),
        h('button', {type: 'button', class: 'secondary small', onclick: clearFinished},
          'Clear finished')),
      h('ul', {class: 'upload-list'}));
  }
  return panel;
}

function clearFinished() {
  for (const li of [...panel.querySelectorAll('li.finished')]) li.remove();
  if (!panel.querySelector('li')) panel.hidden = true;
}

// items: [{file, path}] where path is the file's place in the tree.
export function enqueue(items) {
  const list = uploadPanel().querySelector('.upload-list');
  panel.hidden = false;
  for (const item of items) {
    const bar = h('progress', {max: item.file.size || 1, value: 0,
      'aria-label': `Upload of ${item.path}`});
    const status = h('span', {class: 'upload-status'}, 'waiting');
    const cancel = h('button', {type: 'button', class: 'secondary small',
      'aria-label': `Cancel upload of ${item.path}`}, 'Cancel');
    const li = h('li', {class: 'upload', dataset: {path: item.path}},
      h('span', {class: 'upload-name', title: item.path}, item.path), bar, status, cancel);
    list.append(li);
    const job = {...item, li, bar, status, cancel, abort: null, cancelled: false};
    cancel.addEventListener('click', () => {
      job.cancelled = true;
      if (job.abort) job.abort();
      else finish(job, 'cancelled', 'cancelled');
    });
    queue.push(job);
  }
  pump();
}

function finish(job, cls, text) {
  job.li.classList.add('finished', cls);
  job.status.textContent = text;
  job.cancel.disabled = true;
  const i = queue.indexOf(job);
  if (i >= 0) queue.splice(i, 1);
}

function pump() {
  while (running < PARALLEL) {
    const job = queue.find((j) => !j.started && !j.cancelled);
    if (!job) return;
    job.started = true;
    running++;
    run(job).finally(() => { running--; pump(); });
  }
}

async function run(job) {
  const started = performance.now();
  const size = job.file.size;
  const {promise, abort} = api.upload(job.path, job.file, (sent, total) => {
    // `total` counts the multipart framing too: show the file's own bytes.
    const loaded = total > 0 ? Math.round((sent / total) * size) : 0;
    job.bar.max = size || 1;
    job.bar.value = loaded;
    const secs = (performance.now() - started) / 1000;
    job.status.textContent = `${bytes(loaded)} of ${bytes(size)} · ${rate(secs > 0 ? loaded / secs : 0)}`;
  });
  job.abort = abort;
  job.status.textContent = 'starting';
  try {
    await promise;
    marks.uploadDone(job.path, started);
    job.bar.value = job.bar.max;
    const secs = (performance.now() - started) / 1000;
    finish(job, 'done', `done · ${bytes(job.file.size)} · ${rate(job.file.size / Math.max(secs, 0.001))}`);
    onFileDone(job.path);
  } catch (err) {
    if (job.cancelled) finish(job, 'cancelled', 'cancelled');
    else finish(job, 'failed', err.status === 507 ? `quota exceeded: ${err.message}` : err.message);
    onFileDone(job.path);
  }
}

// The files of a drop, folders included (read through the entries API).
export async function filesOfDrop(dataTransfer) {
  const entries = [...dataTransfer.items]
    .map((it) => (it.webkitGetAsEntry ? it.webkitGetAsEntry() : null))
    .filter(Boolean);
  if (!entries.length) return [...dataTransfer.files].map((file) => ({file, rel: file.name}));
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({file, rel: prefix + entry.name});
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}
