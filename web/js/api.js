// The page's one door to the HTTP API: JSON in and out, the bearer token
// on /api and /auth/logout, and errors as ApiError with the server's text.

import * as session from './session.js';

export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

// Called when the server no longer accepts the token (401 on /api).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

function authHeaders() {
  const s = session.current();
  return s ? {Authorization: `Bearer ${s.token}`} : {};
}

async function errorOf(resp) {
  let message = `${resp.status} ${resp.statusText}`;
  try {
    const j = await resp.json();
    if (j && j.error) message = j.error;
  } catch { /* not JSON: keep the status line */ }
  const retry = Number(resp.headers.get('Retry-After')) || 0;
  return new ApiError(resp.status, message, retry);
}

export async function call(method, path, body) {
  const headers = authHeaders();
  const init = {method, headers};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  if (!resp.ok) {
    const err = await errorOf(resp);
    if (resp.status === 401 && path.startsWith('/api/')) onUnauthorized(err);
    throw err;
  }
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);
export const del = (path) => call('DELETE', path);

export function q(path, params) {
  return `${path}?${new URLSearchParams(params)}`;
}

// Uploads `file` to `path` in the tree with XMLHttpRequest, the one browser
// API that reports upload progress. The browser streams the File from disk;
// the page never reads it. Returns {promise, abort}; onProgress(loaded, total).
export function upload(path, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', q('/api/fs/upload', {path}));
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let j = null;
      try { j = JSON.parse(xhr.responseText); } catch { /* keep null */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(j);
      else reject(new ApiError(xhr.status, (j && j.error) || `${xhr.status} ${xhr.statusText}`));
    };
    xhr.onerror = () => reject(new ApiError(0, 'network error'));
    xhr.onabort = () => reject(new ApiError(0, 'cancelled'));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
  return {promise, abort: () => xhr.abort()};
}

// Starts a browser download of `path`: a signed one-minute link that the
// browser fetches itself, so the file streams to disk instead of into the
// page (an Authorization header cannot ride on a plain navigation).
export async function download(path) {
  const {url} = await post('/api/fs/download-link', {path});
  const a = document.createElement('a');
  a.href = url;
  a.download = path.slice(path.lastIndexOf('/') + 1);
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}
