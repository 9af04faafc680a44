// A small SVG line chart: one or two series against time, drawn by hand
// (no library to load, and no inline styles: colours come from classes).

const NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// series: [{name, cls, points: [[t, v], ...]}]; max: the y scale's top
// (the memory limit), else the largest value but at least `floor`.
// Returns an <svg>.
export function lineChart({title, series, max, floor = 1e-9, format}) {
  const W = 560;
  const H = 180;
  const L = 64;
  const B = 22;
  const svg = el('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': title});
  svg.append(el('title', {}, title));
  const all = series.flatMap((s) => s.points);
  const top = Math.max(max || 0, ...all.map((p) => p[1]), floor);
  const t0 = all.length ? Math.min(...all.map((p) => p[0])) : 0;
  const t1 = all.length ? Math.max(...all.map((p) => p[0])) : 1;
  const x = (t) => L + ((t - t0) / Math.max(t1 - t0, 1)) * (W - L - 8);
  const y = (v) => 8 + (1 - v / top) * (H - B - 8);
  for (const f of [0, 0.5, 1]) {
    svg.append(el('line', {x1: L, x2: W - 8, y1: y(top * f), y2: y(top * f), class: 'grid'}));
    svg.append(el('text', {x: L - 6, y: y(top * f) + 4, class: 'axis', 'text-anchor': 'end'},
      format(top * f)));
  }
  for (const s of series) {
    if (!s.points.length) continue;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
    svg.append(el('path', {d, class: `line ${s.cls}`, 'data-points': s.points.length}));
  }
  if (max) svg.append(el('line', {x1: L, x2: W - 8, y1: y(max), y2: y(max), class: 'limit'}));
  const secs = Math.round((t1 - t0) / 1000);
  svg.append(el('text', {x: W - 8, y: H - 4, class: 'axis', 'text-anchor': 'end'},
    all.length ? `last ${secs} s` : 'no samples yet'));
  return svg;
}
