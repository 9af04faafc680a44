// Files: the user's tree. Folders first, sortable by name, size or time,
// filtered as you type, and drawn as a virtual list (only the rows in
// view exist in the DOM), so a folder of 10,000 entries scrolls as fast as
// one of ten. Upload by button, folder picker or drag-and-drop; drag a row
// onto a folder (or a breadcrumb) to move it.

import * as api from '../api.js';
import {clear, confirmDialog, h, promptDialog, toast} from '../dom.js';
import {baseName, bytes, dateTime, joinPath, parentOf} from '../format.js';
import * as marks from '../marks.js';
import * as uploads from './uploads.js';
import {usageBar} from './usage.js';

const ROW = 44; // px, as .row in app.css
const OVERSCAN = 8;
const DRAG_TYPE = 'application/x-nexus-path';

// navigatedAt: when the folder now shown was asked for, until its list is drawn.
const state = {cwd: null, entries: [], shown: [], sort: {key: 'name', dir: 1}, filter: '',
  navigatedAt: null};
let ui = null;

export function render(root, rest) {
  const path = normalize(`/${rest || ''}`);
  if (!ui || !ui.page.isConnected) build(root);
  if (path !== state.cwd) {
    state.cwd = path;
    state.navigatedAt = performance.now();
    state.filter = '';
    ui.filter.value = '';
    load();
  }
}

export function leave() { ui = null; state.cwd = null; }

function normalize(path) {
  const parts = path.split('/').filter((p) => p && p !== '.' && p !== '..');
  return `/${parts.join('/')}`;
}

function hrefOf(path) {
  return `#/files${path === '/' ? '' : path.split('/').map(encodeURIComponent).join('/')}`;
}

function build(root) {
  clear(root);
  const fileInput = h('input', {type: 'file', multiple: true, hidden: true, id: 'upload-files'});
  const dirInput = h('input', {type: 'file', multiple: true, hidden: true, id: 'upload-folder',
    webkitdirectory: true});
  fileInput.addEventListener('change', () => { uploadPicked(fileInput.files); fileInput.value = ''; });
  dirInput.addEventListener('change', () => { uploadPicked(dirInput.files); dirInput.value = ''; });
  const filter = h('input', {type: 'search', placeholder: 'Filter', 'aria-label': 'Filter by name',
    id: 'files-filter', oninput: () => { state.filter = filter.value; refreshShown(); }});
  const spacer = h('div', {class: 'spacer'});
  const list = h('div', {class: 'list', role: 'list', 'aria-label': 'Folder contents',
    tabindex: 0, id: 'files-list'}, spacer);
  list.addEventListener('scroll', () => requestAnimationFrame(drawRows));
  const head = h('div', {class: 'row head', role: 'presentation'},
    sortButton('name', 'Name'), sortButton('size', 'Size'), sortButton('modified', 'Modified'),
    h('span', {class: 'col-actions'}, h('span', {class: 'sr-only'}, 'Actions')));
  ui = {
    page: h('section', {class: 'files', 'aria-labelledby': 'files-title'}),
    crumbs: h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumbs'}),
    usage: h('div', {class: 'usage-slot'}),
    count: h('small', {class: 'muted', id: 'files-count', 'aria-live': 'polite'}),
    filter, list, spacer, head,
  };
  ui.page.append(
    h('h1', {id: 'files-title', class: 'sr-only'}, 'Files'),
    h('div', {class: 'toolbar'}, ui.crumbs, ui.usage),
    h('div', {class: 'toolbar'},
      h('button', {type: 'button', class: 'primary', onclick: () => fileInput.click()},
        'Upload files'),
      h('button', {type: 'button', class: 'secondary', onclick: () => dirInput.click()},
        'Upload folder'),
      h('button', {type: 'button', class: 'secondary', id: 'new-folder', onclick: newFolder},
        'New folder'),
      filter, ui.count, fileInput, dirInput),
    head, list,
    h('p', {class: 'muted drop-hint'}, 'Drop files or folders here to upload them.'),
    uploads.uploadPanel());
  root.append(ui.page);
  uploads.setOnFileDone((path) => {
    if (parentOf(path).startsWith(state.cwd)) scheduleReload();
  });
  dropTarget(ui.page, () => state.cwd, false);
}

function sortButton(key, label) {
  const b = h('button', {type: 'button', class: `sort col-${key}`, dataset: {key},
    onclick: () => {
      state.sort = {key, dir: state.sort.key === key ? -state.sort.dir : 1};
      refreshShown();
    }}, label);
  return b;
}

let reloadTimer = null;
function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(load, 300);
}

async function load() {
  // A reload scheduled by an upload may fire after the page was left.
  if (!ui) return;
  const path = state.cwd;
  drawCrumbs();
  try {
    const [entries, usage] = await Promise.all([
      api.get(api.q('/api/fs/ls', {path})),
      api.get('/api/fs/usage').catch(() => null),
    ]);
    if (!ui || path !== state.cwd) return;
    state.entries = entries;
    clear(ui.usage);
    if (usage) ui.usage.append(usageBar(usage));
    refreshShown();
    // Only the first drawing after navigation: not a reload after an upload.
    if (state.navigatedAt !== null) marks.listingPainted(path, state.navigatedAt);
    state.navigatedAt = null;
    marks.interactive();
  } catch (err) {
    if (!ui || path !== state.cwd) return;
    state.entries = [];
    refreshShown();
    toast(`Cannot list ${path}: ${err.message}`, 'error');
  }
}

function drawCrumbs() {
  clear(ui.crumbs);
  const parts = state.cwd.split('/').filter(Boolean);
  const trail = [{name: 'Home', path: '/'}];
  parts.forEach((p, i) => trail.push({name: p, path: `/${parts.slice(0, i + 1).join('/')}`}));
  const ol = h('ol');
  trail.forEach((c, i) => {
    const last = i === trail.length - 1;
    const a = h('a', {href: hrefOf(c.path), 'aria-current': last ? 'page' : undefined}, c.name);
    dropTarget(a, () => c.path, true);
    ol.append(h('li', {}, a));
  });
  ui.crumbs.append(ol);
}

function compare(a, b) {
  if (a.type !== b.type) return a.type === 'folder' ? -1 : 1;
  const {key, dir} = state.sort;
  let d = 0;
  if (key === 'size') d = (a.size || 0) - (b.size || 0);
  else if (key === 'modified') d = (a.modified_at || 0) - (b.modified_at || 0);
  if (d === 0) d = a.name.localeCompare(b.name, undefined, {numeric: true});
  return d * dir;
}

function refreshShown() {
  const f = state.filter.trim().toLowerCase();
  state.shown = (f ? state.entries.filter((e) => e.name.toLowerCase().includes(f))
    : state.entries.slice()).sort(compare);
  for (const b of ui.head.querySelectorAll('button.sort')) {
    const on = b.dataset.key === state.sort.key;
    b.setAttribute('aria-sort', on ? (state.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
  }
  const n = state.shown.length;
  const total = state.entries.length;
  ui.count.textContent = f ? `${n} of ${total} ${total === 1 ? 'entry' : 'entries'}`
    : `${n} ${n === 1 ? 'entry' : 'entries'}`;
  ui.spacer.style.height = `${n * ROW}px`;
  ui.spacer.textContent = '';
  ui.list.scrollTop = Math.min(ui.list.scrollTop, n * ROW);
  if (n === 0) {
    ui.spacer.append(h('p', {class: 'empty muted'},
      state.entries.length ? 'Nothing matches the filter.' : 'This folder is empty.'));
  }
  drawRows(true);
}

let drawn = {from: -1, to: -1};
function drawRows(force) {
  if (!ui) return;
  const top = ui.list.scrollTop;
  const height = ui.list.clientHeight || 600;
  const from = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
  const to = Math.min(state.shown.length, Math.ceil((top + height) / ROW) + OVERSCAN);
  if (force !== true && from === drawn.from && to === drawn.to) return;
  drawn = {from, to};
  for (const r of [...ui.spacer.querySelectorAll('.row')]) r.remove();
  for (let i = from; i < to; i++) ui.spacer.append(rowOf(state.shown[i], i));
}

function rowOf(entry, index) {
  const path = joinPath(state.cwd, entry.name);
  const folder = entry.type === 'folder';
  const name = folder
    ? h('a', {class: 'name folder', href: hrefOf(path)}, entry.name)
    : h('button', {type: 'button', class: 'name file link', title: `Download ${entry.name}`,
      onclick: () => download(path)}, entry.name);
  const row = h('div', {class: `row ${folder ? 'is-folder' : 'is-file'}`, role: 'listitem',
    draggable: 'true', dataset: {name: entry.name, type: entry.type}},
  h('span', {class: 'col-name'}, h('span', {class: `icon ${folder ? 'i-folder' : 'i-file'}`,
    'aria-hidden': 'true'}), name),
  h('span', {class: 'col-size'}, folder ? '' : bytes(entry.size)),
  h('span', {class: 'col-modified'}, dateTime(entry.modified_at)),
  h('span', {class: 'col-actions'},
    folder ? null : h('button', {type: 'button', class: 'icon-btn', title: 'Download',
      'aria-label': `Download ${entry.name}`, onclick: () => download(path)}, '⤓'),
    h('button', {type: 'button', class: 'icon-btn', title: 'Rename or move',
      'aria-label': `Rename or move ${entry.name}`, onclick: () => renameOrMove(path)}, '✎'),
    h('button', {type: 'button', class: 'icon-btn danger', title: 'Delete',
      'aria-label': `Delete ${entry.name}`, onclick: () => remove(path, entry.type)}, '✕')));
  row.style.transform = `translateY(${index * ROW}px)`;
  row.addEventListener('dragstart', (e) => {
    e.dataTransfer.setData(DRAG_TYPE, path);
    e.dataTransfer.effectAllowed = 'move';
  });
  if (folder) dropTarget(row, () => path, true);
  return row;
}

// Drops of rows (a move) and of files from the desktop (an upload) into
// the folder `dirOf()`. `stop`: the target handles the drop itself rather
// than letting the page's handler upload into the current folder.
function dropTarget(el, dirOf, stop) {
  el.addEventListener('dragover', (e) => {
    const types = [...e.dataTransfer.types];
    if (!types.includes(DRAG_TYPE) && !types.includes('Files')) return;
    if (!stop && types.includes(DRAG_TYPE)) return;
    e.preventDefault();
    if (stop) e.stopPropagation();
    el.classList.add('drop-over');
  });
  el.addEventListener('dragleave', () => el.classList.remove('drop-over'));
  el.addEventListener('drop', async (e) => {
    el.classList.remove('drop-over');
    const moved = e.dataTransfer.getData(DRAG_TYPE);
    if (!moved && ![...e.dataTransfer.types].includes('Files')) return;
    e.preventDefault();
    if (stop) e.stopPropagation();
    const dir = dirOf();
    if (moved) {
      if (moved === dir || parentOf(moved) === dir) return;
      await move(moved, joinPath(dir, baseName(moved)));
    } else {
      const files = await uploads.filesOfDrop(e.dataTransfer);
      uploads.enqueue(files.map(({file, rel}) => ({file, path: joinPath(dir, rel)})));
    }
  });
}

function uploadPicked(fileList) {
  const items = [...fileList].map((file) => ({
    file, path: joinPath(state.cwd, file.webkitRelativePath || file.name),
  }));
  if (items.length) uploads.enqueue(items);
}

async function download(path) {
  try {
    await api.download(path);
  } catch (err) {
    toast(`Download of ${baseName(path)} failed: ${err.message}`, 'error');
  }
}

async function newFolder() {
  const name = await promptDialog('New folder', 'Folder name', '', 'Create');
  if (!name || !name.trim()) return;
  try {
    await api.post('/api/fs/mkdir', {path: joinPath(state.cwd, name.trim())});
    toast(`Folder ${name.trim()} created`);
    load();
  } catch (err) {
    toast(`Cannot create ${name}: ${err.message}`, 'error');
  }
}

async function renameOrMove(path) {
  const answer = await promptDialog(`Rename or move ${baseName(path)}`,
    'New name, or a path from / to move it', path, 'Rename');
  if (!answer || answer.trim() === path) return;
  const target = answer.includes('/') ? normalize(answer.trim())
    : joinPath(parentOf(path), answer.trim());
  await move(path, target);
}

async function move(from, to) {
  try {
    await api.post('/api/fs/move', {old_path: from, new_path: to});
    toast(`Moved ${baseName(from)} to ${to}`);
    load();
  } catch (err) {
    toast(`Cannot move ${baseName(from)}: ${err.message}`, 'error');
  }
}

// Files and folders below `path`, counted by walking it; stops at `cap`.
async function countTree(path, cap = 10000) {
  let files = 0;
  let folders = 0;
  const todo = [path];
  while (todo.length && files + folders < cap) {
    const dir = todo.shift();
    const entries = await api.get(api.q('/api/fs/ls', {path: dir}));
    for (const e of entries) {
      if (e.type === 'folder') { folders++; todo.push(joinPath(dir, e.name)); } else { files++; }
    }
  }
  return {files, folders, capped: todo.length > 0};
}

async function remove(path, type) {
  let message = `Delete the file ${baseName(path)}?`;
  if (type === 'folder') {
    const c = await countTree(path);
    message = `Delete the folder ${baseName(path)} and everything in it: ` +
      `${c.capped ? 'at least ' : ''}${c.files} files and ${c.folders} folders?`;
  }
  if (!await confirmDialog('Delete', message, 'Delete', true)) return;
  try {
    const r = await api.del(api.q('/api/fs/delete', {path}));
    toast(`Deleted ${baseName(path)} (${r.files_deleted} files, ${r.folders_deleted} folders)`);
    load();
  } catch (err) {
    toast(`Cannot delete ${baseName(path)}: ${err.message}`, 'error');
  }
}
