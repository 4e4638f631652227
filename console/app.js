// The cinesis web console (docs/console.md). Plain JavaScript, no framework; charts with uPlot
// (embedded next to this file). Everything goes to the server that serves the page:
//   - the Kinesis JSON API (POST / with X-Amz-Target) for streams, shards and consumers;
//   - the WebSocket /_cinesis/ws for the live tail and puts;
//   - /_cinesis/metrics.json for the charts and sparklines, /_cinesis/faults for fault rules.
'use strict';

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};
const SVG_NS = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}) => {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
};

// ---- notices (never console.error: the browser test asserts a clean console) ----
let noticeTimer = 0;
function notice(text, isError) {
  const n = $('#notice');
  n.textContent = text;
  n.style.color = isError ? '#ff9c96' : '#ffd479';
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.textContent = ''; }, 8000);
}

// ---- the Kinesis JSON API ----
class ApiError extends Error {
  constructor(type, message) { super(message || type); this.type = type; }
}
// The server does not verify signatures (as the CLI against a local endpoint, the page sends
// a well-formed placeholder SigV4 header); see docs/console.md for access.
function authHeaders() {
  const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return {
    'X-Amz-Date': date,
    Authorization: 'AWS4-HMAC-SHA256 Credential=cinesis-console/' + date.slice(0, 8) + '/us-east-1/kinesis/aws4_request, ' +
      'SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=' + '0'.repeat(64),
  };
}
async function api(op, body) {
  const res = await fetch('/', {
    method: 'POST',
    headers: Object.assign({ 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'Kinesis_20131202.' + op }, authHeaders()),
    body: JSON.stringify(body || {}),
  });
  const text = await res.text();
  let doc = {};
  try { doc = text ? JSON.parse(text) : {}; } catch (e) { doc = { message: text }; }
  if (!res.ok) {
    const type = String(doc.__type || res.status).split('#').pop();
    throw new ApiError(type, type + ': ' + (doc.message || doc.Message || res.statusText));
  }
  return doc;
}
async function listAllStreams() {
  const names = [];
  let token;
  for (let i = 0; i < 100; i++) {
    const r = await api('ListStreams', token ? { NextToken: token } : { Limit: 100 });
    names.push(...(r.StreamNames || []));
    if (!r.HasMoreStreams || !r.NextToken) break;
    token = r.NextToken;
  }
  return names;
}
async function listAllShards(stream) {
  const shards = [];
  let r = await api('ListShards', { StreamName: stream });
  shards.push(...(r.Shards || []));
  for (let i = 0; r.NextToken && i < 100; i++) {
    r = await api('ListShards', { NextToken: r.NextToken });
    shards.push(...(r.Shards || []));
  }
  return shards;
}

// ---- bytes ----
const utf8 = new TextDecoder('utf-8');
function b64ToBytes(b64) {
  const s = atob(b64 || '');
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
function bytesToB64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
function showData(bytes, view) {
  if (view === 'hex') {
    const n = Math.min(bytes.length, 256);
    let s = '';
    for (let i = 0; i < n; i++) s += (i ? ' ' : '') + bytes[i].toString(16).padStart(2, '0');
    return n < bytes.length ? s + ' … (' + bytes.length + ' bytes)' : s;
  }
  const text = utf8.decode(bytes);
  if (view === 'json') {
    try { return JSON.stringify(JSON.parse(text), null, 1); } catch (e) { return '(not JSON) ' + text; }
  }
  return text.length > 2000 ? text.slice(0, 2000) + ' …' : text;
}
const fmtNum = (v) => v >= 1e6 ? (v / 1e6).toFixed(1) + 'M' : v >= 1e3 ? (v / 1e3).toFixed(1) + 'k' : String(Math.round(v * 10) / 10);
const shortShard = (id) => (id || '').replace(/^shardId-0*(?=\d)/, '#');
const HASH_SPACE = 1n << 128n;
const hashFrac = (dec) => Number((BigInt(dec) * 1000000n) / HASH_SPACE) / 1000000;

// ---- the WebSocket: tail and put ----
const live = { ws: null, open: false, waiting: new Map(), nextId: 1, retryMs: 500, onRecord: null };
function wsConnect() {
  const proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const ws = new WebSocket(proto + location.host + '/_cinesis/ws');
  live.ws = ws;
  ws.onopen = () => {
    live.open = true;
    live.retryMs = 500;
    setWsState(true);
    if (tail.active) startTail(true);
  };
  ws.onclose = () => {
    live.open = false;
    setWsState(false);
    for (const [, w] of live.waiting) w.reject(new Error('connection closed'));
    live.waiting.clear();
    setTimeout(wsConnect, live.retryMs);
    live.retryMs = Math.min(live.retryMs * 2, 10000);
  };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    onLiveMessage(m);
  };
}
function setWsState(on) {
  const s = $('#ws-state');
  s.className = 'pill ' + (on ? 'on' : 'off');
  s.textContent = on ? 'live: connected' : 'live: reconnecting';
}
function wsSend(msg) {
  if (!live.open) return false;
  live.ws.send(JSON.stringify(msg));
  return true;
}
function onLiveMessage(m) {
  switch (m.type) {
    case 'record':
      if (m.id === tail.id) tailAdd([m]);
      break;
    case 'records':
      if (m.id === tail.id) tailAdd((m.records || []).map((r) => Object.assign({ shard: m.shard }, r)));
      break;
    case 'shard_end':
      if (m.id === tail.id) {
        tailState('shard ' + shortShard(m.shard) + ' closed' +
          (m.children && m.children.length ? '; following ' + m.children.map(shortShard).join(', ') : ''));
      }
      break;
    case 'put_result': {
      const w = live.waiting.get(m.id);
      if (w) { live.waiting.delete(m.id); w.resolve(m); }
      break;
    }
    case 'error': {
      const w = live.waiting.get(m.id);
      if (w) { live.waiting.delete(m.id); w.reject(new ApiError(m.code, (m.code || 'error') + ': ' + (m.message || ''))); break; }
      if (m.id && m.id === tail.id) { tail.active = false; tailState((m.code || 'error') + ': ' + (m.message || ''), true); updateTailButtons(); }
      else notice((m.code || 'error') + ': ' + (m.message || ''), true);
      break;
    }
    default:
      break;
  }
}
function livePut(stream, records) {
  const id = 'p' + live.nextId++;
  return new Promise((resolve, reject) => {
    if (!wsSend({ op: 'put', id, stream, records })) return reject(new Error('not connected'));
    live.waiting.set(id, { resolve, reject });
    setTimeout(() => {
      if (live.waiting.delete(id)) reject(new Error('no answer within 10 s'));
    }, 10000);
  });
}

// ---- the tail pane ----
const TAIL_KEEP = 2000;  // records kept for re-filtering
const TAIL_SHOW = 300;   // rows in the table
const tail = { id: null, active: false, paused: false, records: [], held: [], stream: null, count: 0 };
function tailState(text, isError) {
  const s = $('#tail-state');
  s.textContent = text;
  s.className = isError ? 'err' : 'muted';
}
function updateTailButtons() {
  $('#tail-start').textContent = tail.active ? 'Stop' : 'Start';
  $('#tail-pause').textContent = tail.paused ? 'Resume' : 'Pause';
  $('#tail-pause').disabled = !tail.active;
}
function startTail(resume) {
  if (tail.id) wsSend({ op: 'stop', id: tail.id });
  tail.id = 't' + live.nextId++;
  tail.stream = state.selected;
  const msg = { op: 'tail', id: tail.id, stream: tail.stream, from: resume ? 'LATEST' : $('#tail-from').value };
  const shard = $('#tail-shard').value;
  if (shard) msg.shard = shard;
  tail.active = true;
  if (!wsSend(msg)) { tailState('waiting for the connection'); updateTailButtons(); return; }
  tailState(resume ? 'reconnected: tailing from LATEST' : 'tailing ' + tail.stream + ' from ' + msg.from);
  updateTailButtons();
}
function stopTail() {
  if (tail.id) wsSend({ op: 'stop', id: tail.id });
  tail.id = null;
  tail.active = false;
  tail.paused = false;
  tailState('stopped');
  updateTailButtons();
}
function tailAdd(recs) {
  tail.count += recs.length;
  if (tail.paused) {
    tail.held.push(...recs);
    if (tail.held.length > TAIL_KEEP) tail.held.splice(0, tail.held.length - TAIL_KEEP);
    tailState('paused: ' + tail.held.length + ' held');
    return;
  }
  for (const r of recs) r.bytes = b64ToBytes(r.data);
  tail.records.push(...recs);
  if (tail.records.length > TAIL_KEEP) tail.records.splice(0, tail.records.length - TAIL_KEEP);
  tailRender(recs);
  tailState(tail.count + ' records received');
}
function tailRow(r, view) {
  const t = r.time_ms ? new Date(r.time_ms) : null;
  const when = t ? t.toLocaleTimeString([], { hour12: false }) + '.' + String(t.getMilliseconds()).padStart(3, '0') : '';
  return el('tr', { 'data-key': r.key || '', 'data-seq': r.seq || '' },
    el('td', { text: when }), el('td', { text: shortShard(r.shard), title: r.shard || '' }),
    el('td', { text: '…' + String(r.seq || '').slice(-8), title: r.seq || '' }),
    el('td', { text: r.key || '' }), el('td', { class: 'data', text: showData(r.bytes, view) }));
}
// Renders `recs` (new ones, newest first on top) or, without them, everything again.
function tailRender(recs) {
  const body = $('#tail tbody');
  const filter = $('#tail-filter').value;
  const view = $('#tail-view').value;
  const pick = (r) => !filter || (r.key || '').includes(filter);
  if (!recs) {
    body.textContent = '';
    recs = tail.records;
  }
  const frag = document.createDocumentFragment();
  for (let i = recs.length - 1; i >= 0 && frag.childNodes.length < TAIL_SHOW; i--) {
    if (pick(recs[i])) frag.append(tailRow(recs[i], view));
  }
  body.prepend(frag);
  while (body.rows.length > TAIL_SHOW) body.deleteRow(-1);
}

// ---- metrics ----
async function fetchMetrics(stream, seconds) {
  const q = new URLSearchParams({ seconds: String(seconds) });
  if (stream) q.set('stream', stream);
  const res = await fetch('/_cinesis/metrics.json?' + q);
  if (!res.ok) throw new Error('metrics: HTTP ' + res.status);
  return res.json();
}
// Per-second values of `metric` summed over a stream's shards, oldest first.
function streamSeries(m, stream, metric) {
  const s = m && m.streams && m.streams[stream];
  if (!s || !s.shards) return [];
  let out = [];
  for (const shard of Object.values(s.shards)) {
    const v = shard[metric] || [];
    if (v.length > out.length) out = out.concat(new Array(v.length - out.length).fill(0));
    const off = out.length - v.length;
    v.forEach((x, i) => { out[off + i] += x || 0; });
  }
  return out;
}
function drawSpark(canvas, values) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1, ...values);
  ctx.strokeStyle = '#2f7de1';
  ctx.fillStyle = 'rgba(47,125,225,.15)';
  ctx.beginPath();
  ctx.moveTo(0, h);
  values.forEach((v, i) => ctx.lineTo((i / Math.max(1, values.length - 1)) * w, h - 1 - (v / max) * (h - 2)));
  ctx.lineTo(w, h);
  ctx.fill();
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i / Math.max(1, values.length - 1)) * w, y = h - 1 - (v / max) * (h - 2);
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
  });
  ctx.stroke();
  const total = values.reduce((a, b) => a + b, 0);
  canvas.dataset.total = String(total);
  canvas.title = fmtNum(total) + ' records in the last ' + values.length + ' s';
}

// ---- the stream list ----
const state = { selected: null, streams: new Map(), summary: null, shards: [], charts: new Map() };
let listBusy = false;
async function refreshList() {
  if (listBusy) return;
  listBusy = true;
  try {
    const names = await listAllStreams();
    const sums = await Promise.all(names.slice(0, 200).map((n) =>
      api('DescribeStreamSummary', { StreamName: n }).then((r) => r.StreamDescriptionSummary, () => null)));
    let metrics = null;
    try { metrics = await fetchMetrics(null, 60); } catch (e) { metrics = null; }
    const body = $('#streams tbody');
    const seen = new Set();
    names.slice(0, 200).forEach((name, i) => {
      const s = sums[i];
      if (!s) return;
      seen.add(name);
      let row = body.querySelector('tr[data-stream="' + CSS.escape(name) + '"]');
      if (!row) {
        row = el('tr', { 'data-stream': name, onclick: () => { location.hash = 'stream=' + encodeURIComponent(name); } },
          el('td', { class: 'name' }), el('td', { class: 'status' }), el('td', { class: 'mode' }),
          el('td', { class: 'shards' }), el('td', { class: 'retention' }),
          el('td', {}, el('canvas', { class: 'spark', width: '90', height: '22' })));
        body.append(row);
      }
      row.classList.toggle('sel', name === state.selected);
      row.querySelector('.name').textContent = name;
      row.querySelector('.status').textContent = s.StreamStatus;
      row.querySelector('.mode').textContent = ((s.StreamModeDetails || {}).StreamMode || 'PROVISIONED').toLowerCase().replace('_', '-');
      row.querySelector('.shards').textContent = String(s.OpenShardCount);
      row.querySelector('.retention').textContent = s.RetentionPeriodHours + ' h';
      drawSpark(row.querySelector('canvas'), streamSeries(metrics, name, 'IncomingRecords'));
      state.streams.set(name, s);
    });
    for (const row of [...body.rows]) {
      if (!seen.has(row.dataset.stream)) { row.remove(); state.streams.delete(row.dataset.stream); }
    }
  } catch (e) {
    notice('streams: ' + e.message, true);
  } finally {
    listBusy = false;
  }
}

// ---- the stream detail ----
function selectFromHash() {
  const m = /stream=([^&]+)/.exec(location.hash);
  const name = m ? decodeURIComponent(m[1]) : null;
  if (name === state.selected) return;
  if (tail.active) stopTail();
  state.selected = name;
  state.shards = [];
  for (const c of state.charts.values()) c.plots.forEach((p) => p.destroy());
  state.charts.clear();
  $('#charts').textContent = '';
  $('#map').textContent = '';
  $('#tail tbody').textContent = '';
  tail.records = [];
  tail.count = 0;
  $('#detail').hidden = !name;
  $('#d-name').textContent = name || '';
  for (const row of $('#streams tbody').rows) row.classList.toggle('sel', row.dataset.stream === name);
  if (name) { refreshDetail(); refreshCharts(); }
}
let detailBusy = false;
async function refreshDetail() {
  const name = state.selected;
  if (!name || detailBusy) return;
  detailBusy = true;
  try {
    const s = (await api('DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary;
    // ListShards answers ResourceInUseException while the stream is being created.
    const shards = s.StreamStatus === 'CREATING' ? [] : await listAllShards(name);
    if (name !== state.selected) return;
    state.summary = s;
    state.shards = shards;
    $('#d-summary').textContent = s.StreamStatus + ' · ' + ((s.StreamModeDetails || {}).StreamMode || 'PROVISIONED') +
      ' · ' + s.OpenShardCount + ' open shards of ' + shards.length + ' · retention ' + s.RetentionPeriodHours + ' h';
    drawMap(shards);
    fillShardSelects(shards);
    if (s.StreamStatus === 'CREATING') return;
    let consumers = [];
    try { consumers = (await api('ListStreamConsumers', { StreamARN: s.StreamARN })).Consumers || []; } catch (e) { consumers = []; }
    state.consumers = consumers;
    renderConsumers();
  } catch (e) {
    if (e.type === 'ResourceNotFoundException') { location.hash = ''; notice(e.message, true); }
    else notice(name + ': ' + e.message, true);
  } finally {
    detailBusy = false;
  }
}
// Registered consumers, with what the server pushed to each (SubscribeToShardEvent.Records in
// the metrics' per-consumer counters) and its lag (SubscribeToShardEvent.MillisBehindLatest,
// the largest over its shards; per shard in the shard's age chart).
function renderConsumers() {
  const counts = state.consumerMetrics || {};
  const consumers = state.consumers || [];
  $('#consumers').textContent = consumers.length
    ? 'Registered consumers: ' + consumers.map((c) => {
      const m = counts[c.ConsumerName];
      return c.ConsumerName + ' (' + c.ConsumerStatus + (m ? ', ' + fmtNum(m['SubscribeToShardEvent.Records'] || 0) + ' records pushed, lag ' +
        fmtNum(m['SubscribeToShardEvent.MillisBehindLatest'] || 0) + ' ms' : '') + ')';
    }).join(', ')
    : 'No registered consumers (enhanced fan-out).';
}
const isOpen = (sh) => !(sh.SequenceNumberRange && sh.SequenceNumberRange.EndingSequenceNumber);

// Open shards blue, closed grey; rows by generation (a child one row below its parents); a
// line from each parent to each child.
function drawMap(shards) {
  const byId = new Map(shards.map((s) => [s.ShardId, s]));
  const depth = new Map();
  const depthOf = (s, guard = 0) => {
    if (depth.has(s.ShardId)) return depth.get(s.ShardId);
    let d = 0;
    for (const p of [s.ParentShardId, s.AdjacentParentShardId]) {
      if (p && byId.has(p) && guard < 64) d = Math.max(d, depthOf(byId.get(p), guard + 1) + 1);
    }
    depth.set(s.ShardId, d);
    return d;
  };
  shards.forEach((s) => depthOf(s));
  const rows = Math.max(1, ...[...depth.values()].map((d) => d + 1));
  const W = 1000, rowH = 34, gap = 18, top = 4;
  const H = top + rows * (rowH + gap) + 14;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, height: String(H), preserveAspectRatio: 'none' });
  const pos = new Map();
  for (const s of shards) {
    const a = hashFrac(s.HashKeyRange.StartingHashKey), b = hashFrac((BigInt(s.HashKeyRange.EndingHashKey) + 1n).toString());
    const x = a * W + 1, w = Math.max(2, (b - a) * W - 2), y = top + depth.get(s.ShardId) * (rowH + gap);
    pos.set(s.ShardId, { x, w, y });
    const g = svg('g', { 'data-shard': s.ShardId, class: isOpen(s) ? 'open' : 'closed' });
    const r = svg('rect', { x, y, width: w, height: rowH, rx: 3, class: isOpen(s) ? 'open' : 'closed' });
    const title = svg('title');
    title.textContent = s.ShardId + (isOpen(s) ? ' (open)' : ' (closed)') + '\nhash keys ' + s.HashKeyRange.StartingHashKey +
      ' – ' + s.HashKeyRange.EndingHashKey + (s.ParentShardId ? '\nparent ' + s.ParentShardId : '') +
      (s.AdjacentParentShardId ? '\nadjacent parent ' + s.AdjacentParentShardId : '');
    r.append(title);
    g.append(r);
    if (w > 28) {
      const t = svg('text', { x: x + 5, y: y + 21 });
      t.textContent = shortShard(s.ShardId);
      g.append(t);
    }
    root.append(g);
  }
  for (const s of shards) {
    const c = pos.get(s.ShardId);
    for (const p of [s.ParentShardId, s.AdjacentParentShardId]) {
      const q = p && pos.get(p);
      if (!q) continue;
      const x1 = q.x + q.w / 2, y1 = q.y + rowH, x2 = c.x + c.w / 2, y2 = c.y;
      root.append(svg('path', { d: `M${x1},${y1} C${x1},${y1 + gap / 2} ${x2},${y2 - gap / 2} ${x2},${y2}`, 'data-parent': p, 'data-child': s.ShardId }));
    }
  }
  const axis = svg('text', { x: 0, y: H - 2, class: 'axis' });
  axis.textContent = 'hash key 0';
  const axis2 = svg('text', { x: W, y: H - 2, class: 'axis', 'text-anchor': 'end' });
  axis2.textContent = '2^128 − 1';
  root.append(axis, axis2);
  $('#map').replaceChildren(root);
}
function fillShardSelects(shards) {
  const open = shards.filter(isOpen).sort((a, b) => (BigInt(a.HashKeyRange.StartingHashKey) < BigInt(b.HashKeyRange.StartingHashKey) ? -1 : 1));
  const fill = (sel, list, keepFirst) => {
    const before = sel.value;
    const first = keepFirst ? [...sel.options].slice(0, 1) : [];
    sel.replaceChildren(...first, ...list.map((s) => el('option', { value: s.ShardId, text: shortShard(s.ShardId) + '  ' + s.ShardId })));
    if ([...sel.options].some((o) => o.value === before)) sel.value = before;
  };
  fill($('#split-shard'), open);
  fill($('#merge-shard'), open);
  fill($('#tail-shard'), shards, true);
  const m = open.find((s) => s.ShardId === $('#merge-shard').value);
  const adj = m ? open.filter((s) => BigInt(s.HashKeyRange.StartingHashKey) === BigInt(m.HashKeyRange.EndingHashKey) + 1n ||
    BigInt(s.HashKeyRange.EndingHashKey) + 1n === BigInt(m.HashKeyRange.StartingHashKey)) : [];
  fill($('#merge-adjacent'), adj);
  if (!$('#scale-count').value && state.summary) $('#scale-count').value = String(state.summary.OpenShardCount);
}

// ---- per-shard charts ----
const CHART_SERIES = {
  traffic: [
    { key: 'IncomingRecords', label: 'in records/s', stroke: '#2f7de1', scale: 'n' },
    { key: 'IncomingBytes', label: 'in bytes/s', stroke: '#0f9d74', scale: 'b' },
    { key: 'GetRecords.Records', label: 'GetRecords records/s', stroke: '#e08a1e', scale: 'n' },
    { key: 'SubscribeToShardEvent.Records', label: 'SubscribeToShard records/s', stroke: '#9b59b6', scale: 'n' },
  ],
};
const AGE_RE = /IteratorAge|MillisBehind|Lag/;
const PALETTE = ['#c93c37', '#2f7de1', '#0f9d74', '#e08a1e', '#9b59b6', '#16a2b8', '#7d8696'];
function chartOpts(title, series, width) {
  return {
    title, width, height: 150,
    scales: { x: { time: true }, n: { range: (u, lo, hi) => [0, Math.max(1, hi)] }, b: { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
    axes: [{}, { scale: series[0].scale, size: 44, values: (u, v) => v.map(fmtNum) },
      ...(series.some((s) => s.scale === 'b') ? [{ scale: 'b', side: 1, size: 48, grid: { show: false }, values: (u, v) => v.map(fmtNum) }] : [])],
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, scale: s.scale, width: 1.5, points: { show: false } }))],
    legend: { live: false },
  };
}
let chartsBusy = false;
async function refreshCharts() {
  const name = state.selected;
  if (!name || chartsBusy || typeof uPlot === 'undefined') return;
  chartsBusy = true;
  try {
    const m = await fetchMetrics(name, 120);
    if (name !== state.selected) return;
    const streamDoc = (m.streams || {})[name] || {};
    const shardsDoc = streamDoc.shards || {};
    state.consumerMetrics = streamDoc.consumers || {};
    renderConsumers();
    const res = (m.resolution_ms || 1000) / 1000;
    const wrap = $('#charts');
    const width = Math.max(300, Math.floor(wrap.clientWidth / Math.max(1, Math.floor(wrap.clientWidth / 370))) - 22);
    const ids = Object.keys(shardsDoc).sort();
    const openIds = new Set(state.shards.filter(isOpen).map((s) => s.ShardId));
    // Open shards first; closed ones only while they still have traffic in the window.
    const shown = ids.filter((id) => openIds.has(id) || (shardsDoc[id].IncomingRecords || []).some((v) => v > 0)).slice(0, 24);
    for (const [id, c] of state.charts) {
      if (!shown.includes(id)) { c.plots.forEach((p) => p.destroy()); c.card.remove(); state.charts.delete(id); }
    }
    for (const id of shown) {
      const doc = shardsDoc[id];
      const n = Math.max(0, ...Object.values(doc).map((v) => (Array.isArray(v) ? v.length : 0)));
      const end = (m.end_ms || Date.now()) / 1000;
      const xs = Array.from({ length: n }, (_, i) => end - (n - 1 - i) * res);
      const pad = (v) => { v = v || []; return v.length < n ? new Array(n - v.length).fill(null).concat(v) : v; };
      const traffic = CHART_SERIES.traffic.filter((s, i) => i < 2 || doc[s.key]);
      const ages = Object.keys(doc).filter((k) => AGE_RE.test(k)).sort()
        .map((k, i) => ({ key: k, label: k.replace('IteratorAgeMilliseconds', 'iterator age ms (GetRecords)').replace('SubscribeToShardEvent.MillisBehindLatest/', 'lag ms: '), stroke: PALETTE[i % PALETTE.length], scale: 'n' }));
      const sig = traffic.map((s) => s.key).join() + '|' + ages.map((s) => s.key).join() + '|' + width;
      let c = state.charts.get(id);
      if (c && c.sig !== sig) { c.plots.forEach((p) => p.destroy()); c.card.remove(); state.charts.delete(id); c = null; }
      if (!c) {
        const card = el('div', { class: 'chart-card', 'data-shard': id }, el('h4', { text: shortShard(id) + '  ' + id + (openIds.has(id) ? '' : ' (closed)') }));
        wrap.append(card);
        const plots = [new uPlot(chartOpts('throughput', traffic, width), [xs, ...traffic.map((s) => pad(doc[s.key]))], card)];
        if (ages.length) plots.push(new uPlot(chartOpts('iterator age / consumer lag (ms)', ages, width), [xs, ...ages.map((s) => pad(doc[s.key]))], card));
        c = { card, plots, sig, traffic, ages };
        state.charts.set(id, c);
      } else {
        c.plots[0].setData([xs, ...c.traffic.map((s) => pad(doc[s.key]))]);
        if (c.plots[1]) c.plots[1].setData([xs, ...c.ages.map((s) => pad(doc[s.key]))]);
      }
      c.card.dataset.maxIncoming = String(Math.max(0, ...(doc.IncomingRecords || [0])));
    }
  } catch (e) {
    notice('metrics: ' + e.message, true);
  } finally {
    chartsBusy = false;
  }
}

// ---- fault rules ----
async function refreshFaults() {
  const list = $('#faults-list');
  try {
    const res = await fetch('/_cinesis/faults');
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const doc = await res.json();
    const rules = Array.isArray(doc) ? doc : doc.rules || [];
    list.replaceChildren(...(rules.length ? rules.map((r) => el('div', { class: 'fault' },
      el('button', { class: 'danger', text: 'remove', onclick: () => removeFault(r) }),
      el('span', { text: JSON.stringify(r) }))) : [el('div', { class: 'muted', text: 'No fault rules.' })]));
  } catch (e) {
    list.replaceChildren(el('div', { class: 'muted', text: 'Fault rules unavailable: ' + e.message }));
  }
}
async function removeFault(rule) {
  const q = rule.id !== undefined ? '?id=' + encodeURIComponent(rule.id) : '';
  const res = await fetch('/_cinesis/faults' + q, { method: 'DELETE' });
  if (!res.ok) notice('fault rules: HTTP ' + res.status + ' ' + (await res.text()), true);
  refreshFaults();
}

// ---- actions ----
async function act(what, fn) {
  try {
    await fn();
    notice(what + ': done');
  } catch (e) {
    notice(what + ': ' + e.message, true);
  }
  refreshList();
  refreshDetail();
}
function wire() {
  $('#create-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = $('#create-name').value.trim();
    const mode = $('#create-mode').value;
    const body = { StreamName: name, StreamModeDetails: { StreamMode: mode } };
    if (mode === 'PROVISIONED') body.ShardCount = Number($('#create-shards').value || 1);
    act('create ' + name, async () => {
      await api('CreateStream', body);
      location.hash = 'stream=' + encodeURIComponent(name);
    });
  });
  $('#create-mode').addEventListener('change', () => { $('#create-shards').disabled = $('#create-mode').value !== 'PROVISIONED'; });
  $('#d-delete').addEventListener('click', () => {
    const name = state.selected;
    if (!confirm('Delete stream ' + name + ' and all its records?')) return;
    act('delete ' + name, async () => {
      await api('DeleteStream', { StreamName: name, EnforceConsumerDeletion: true });
      location.hash = '';
    });
  });
  $('#split-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('#split-shard').value;
    const sh = state.shards.find((s) => s.ShardId === id);
    if (!sh) return;
    let key = $('#split-key').value.trim();
    if (!key) {
      const a = BigInt(sh.HashKeyRange.StartingHashKey), b = BigInt(sh.HashKeyRange.EndingHashKey);
      key = (a + (b - a + 1n) / 2n).toString();
    }
    act('split ' + shortShard(id), () => api('SplitShard', { StreamName: state.selected, ShardToSplit: id, NewStartingHashKey: key }));
  });
  $('#merge-shard').addEventListener('change', () => fillShardSelects(state.shards));
  $('#merge-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const a = $('#merge-shard').value, b = $('#merge-adjacent').value;
    if (!a || !b) return notice('merge: choose a shard and an adjacent open shard', true);
    act('merge ' + shortShard(a) + '+' + shortShard(b), () => api('MergeShards', { StreamName: state.selected, ShardToMerge: a, AdjacentShardToMerge: b }));
  });
  $('#scale-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = Number($('#scale-count').value);
    act('update shard count to ' + n, () => api('UpdateShardCount', { StreamName: state.selected, TargetShardCount: n, ScalingType: 'UNIFORM_SCALING' }));
  });
  $('#tail-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (tail.active) stopTail(); else startTail(false);
  });
  $('#tail-pause').addEventListener('click', () => {
    tail.paused = !tail.paused;
    if (!tail.paused && tail.held.length) {
      const held = tail.held;
      tail.held = [];
      tail.count -= held.length;
      tailAdd(held);
    }
    updateTailButtons();
  });
  $('#tail-clear').addEventListener('click', () => { tail.records = []; $('#tail tbody').textContent = ''; });
  $('#tail-filter').addEventListener('input', () => tailRender());
  $('#tail-view').addEventListener('change', () => tailRender());
  $('#put-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = $('#put-key').value;
    const data = bytesToB64(new TextEncoder().encode($('#put-data').value));
    const out = $('#put-result');
    try {
      let r;
      if (live.open) {
        const m = await livePut(state.selected, [{ key, data }]);
        r = (m.records || [])[0] || {};
        if (r.error_code) throw new ApiError(r.error_code, r.error_code + ': ' + (r.error_message || ''));
        r = { shard: r.shard, seq: r.seq };
      } else {
        const a = await api('PutRecord', { StreamName: state.selected, PartitionKey: key, Data: data });
        r = { shard: a.ShardId, seq: a.SequenceNumber };
      }
      out.className = 'ok';
      out.textContent = 'stored in ' + r.shard + ' as ' + r.seq;
    } catch (e) {
      out.className = 'err';
      out.textContent = e.message;
    }
  });
  $('#fault-json').value = '{"operation": "PutRecords", "stream": "demo", "action": "throttle", "rate": 0.5}';
  $('#fault-add').addEventListener('click', async () => {
    const res = await fetch('/_cinesis/faults', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: $('#fault-json').value });
    if (!res.ok) notice('fault rules: HTTP ' + res.status + ' ' + (await res.text()), true);
    refreshFaults();
  });
  $('#faults-pane').addEventListener('toggle', () => { if ($('#faults-pane').open) refreshFaults(); });
  window.addEventListener('hashchange', selectFromHash);
}

function start() {
  wire();
  updateTailButtons();
  wsConnect();
  refreshList().then(selectFromHash);
  setInterval(refreshList, 2000);
  setInterval(refreshDetail, 2000);
  setInterval(refreshCharts, 1000);
}
if (typeof uPlot === 'undefined') notice('uPlot did not load: charts are off', true);
start();
