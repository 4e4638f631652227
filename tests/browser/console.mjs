// The web console in real headless Chromium (issue 18's acceptance test), driven by
// playwright-core. Run by tests/integration/test_console.py, which starts the server:
//
//   node tests/browser/console.mjs --url http://127.0.0.1:PORT --cinesis BIN --artifacts DIR
//
// It opens /_cinesis/console, creates a stream from the UI, starts the live tail, puts records
// with `cinesis put`, and requires every record in the tail within 1 s of the put's exit; it
// requires a non-zero throughput chart and sparkline; it checks the tail's key filter and hex
// view; it splits a shard from the UI and requires the two children (open) and the parent
// (closed) in the hash-range map with a lineage line from the parent to each child. The
// browser's console must stay free of errors (and no request may fail). Screenshots go to
// DIR/console-*.png. Exit 0 on success; otherwise a message on stderr and exit 1.
import { chromium } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const url = args.url;
const cinesis = args.cinesis;
const artifacts = args.artifacts;
const chromiumPath = process.env.CINESIS_CHROMIUM || '/usr/bin/chromium';
if (!url || !cinesis || !artifacts) {
  console.error('usage: console.mjs --url URL --cinesis BIN --artifacts DIR');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

const STREAM = 'console-demo';
const problems = [];  // browser console errors, page errors, failed requests
const t0 = Date.now();
const step = (what) => console.log(`[${((Date.now() - t0) / 1000).toFixed(2)} s] ${what}`);

function fail(msg) {
  throw new Error(msg);
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  // Root in a container: no user namespaces for Chromium's sandbox.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  timeout: 30000,
});
let exitCode = 0;
let closing = false;  // set before the page goes away: polls cut then are not errors
const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
try {
  page.setDefaultTimeout(10000);
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => {
    // A poll cut by the page closing at the end is not an error of the console.
    if (!closing) problems.push('request failed: ' + r.url() + ' ' + (r.failure() || {}).errorText);
  });
  page.on('response', async (r) => {
    if (r.status() < 400) return;
    const target = r.request().headers()['x-amz-target'] || '';
    problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()} ${target} ${await r.text().catch(() => '')}`);
  });

  // 1. The console loads, with its charting library, and connects its WebSocket.
  await page.goto(url + '/_cinesis/console');
  await page.waitForFunction(() => typeof uPlot === 'function');
  await page.waitForSelector('#ws-state.on');
  step('console loaded, WebSocket connected');

  // 2. Create a stream from the UI (2 shards).
  await page.fill('#create-name', STREAM);
  await page.selectOption('#create-mode', 'PROVISIONED');
  await page.fill('#create-shards', '2');
  await page.click('#create-btn');
  await page.waitForSelector(`#streams tr[data-stream="${STREAM}"] td.status:text-is("ACTIVE")`);
  await page.waitForFunction((s) => location.hash === '#stream=' + s && !document.querySelector('#detail').hidden, STREAM);
  await page.waitForFunction(() => document.querySelectorAll('#map g.open').length === 2);
  step('stream created from the UI; map shows 2 open shards');

  // 3. Live tail from TRIM_HORIZON (the stream is empty: nothing put can be missed).
  await page.selectOption('#tail-from', 'TRIM_HORIZON');
  await page.click('#tail-start');
  await page.waitForFunction(() => /tailing/.test(document.querySelector('#tail-state').textContent));

  // 4. Records through the CLI; each must show in the tail within 1 s of the put's exit.
  const lines = [];
  for (let i = 0; i < 20; i++) lines.push(`key-${i}:` + (i % 2 ? JSON.stringify({ n: i, text: 'hello' }) : `hello ${i}`));
  const put = spawnSync(cinesis, ['put', STREAM, '-K', ':', '--endpoint', url], {
    input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 30000,
    env: { ...process.env, AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_CONFIG_FILE: '/dev/null' },
  });
  const putDone = Date.now();
  if (put.status !== 0) fail(`cinesis put exited ${put.status}: ${put.stderr}`);
  const want = lines.map((l) => l.split(':')[0]);
  await page.waitForFunction((keys) => {
    const seen = new Set([...document.querySelectorAll('#tail tbody tr')].map((r) => r.dataset.key));
    return keys.every((k) => seen.has(k));
  }, want, { timeout: 1000, polling: 10 }).catch(() => null);
  const tailMs = Date.now() - putDone;
  const shownKeys = await page.$$eval('#tail tbody tr', (rows) => rows.map((r) => r.dataset.key));
  const missing = want.filter((k) => !shownKeys.includes(k));
  if (missing.length) fail(`tail: ${missing.length} of ${want.length} records not shown within 1 s of the put (missing ${missing.join(', ')})`);
  if (shownKeys.length !== want.length) fail(`tail: ${shownKeys.length} rows for ${want.length} records (duplicates?)`);
  const row0 = await page.$eval('#tail tbody tr[data-key="key-0"] td.data', (td) => td.textContent);
  if (row0 !== 'hello 0') fail(`tail: key-0 shows ${JSON.stringify(row0)}, want "hello 0"`);
  step(`all ${want.length} records in the live tail ${tailMs} ms after cinesis put exited`);

  // 5. Throughput: the per-shard chart and the stream's sparkline see the writes.
  await page.waitForFunction(() => [...document.querySelectorAll('.chart-card')].some((c) => Number(c.dataset.maxIncoming) > 0),
    null, { timeout: 6000 });
  await page.waitForFunction((s) => Number(document.querySelector(`#streams tr[data-stream="${s}"] canvas.spark`).dataset.total) >= 20,
    STREAM, { timeout: 6000 });
  const charts = await page.$$eval('.chart-card', (cs) => cs.map((c) => ({ shard: c.dataset.shard, max: Number(c.dataset.maxIncoming), canvases: c.querySelectorAll('canvas').length })));
  if (!charts.length || charts.some((c) => c.canvases < 1)) fail('charts: no uPlot canvas per shard: ' + JSON.stringify(charts));
  step('throughput charts non-zero: ' + JSON.stringify(charts.map((c) => [c.shard, c.max])));

  // 6. Filter by partition key, then data as JSON and hex.
  await page.fill('#tail-filter', 'key-1');  // key-1, key-10 .. key-19
  const filtered = await page.$$eval('#tail tbody tr', (rows) => rows.map((r) => r.dataset.key));
  if (filtered.length !== 11 || filtered.some((k) => !k.includes('key-1'))) fail('filter key-1 shows ' + JSON.stringify(filtered));
  await page.selectOption('#tail-view', 'json');
  const asJson = await page.$eval('#tail tbody tr[data-key="key-1"] td.data', (td) => td.textContent);
  if (JSON.stringify(JSON.parse(asJson)) !== '{"n":1,"text":"hello"}') fail('JSON view of key-1: ' + asJson);
  await page.screenshot({ path: join(artifacts, 'console-tail.png'), fullPage: true });
  await page.selectOption('#tail-view', 'hex');
  await page.fill('#tail-filter', 'key-0');
  const asHex = await page.$eval('#tail tbody tr[data-key="key-0"] td.data', (td) => td.textContent);
  if (asHex !== '68 65 6c 6c 6f 20 30') fail('hex view of key-0: ' + asHex);
  await page.fill('#tail-filter', '');
  await page.selectOption('#tail-view', 'text');
  step('filter, JSON and hex views correct');
  await page.screenshot({ path: join(artifacts, 'console-stream.png'), fullPage: true });

  // 7. Split the first shard from the UI: the map shows the parent closed and two open
  // children, each joined to the parent by a lineage line.
  const parent = await page.$eval('#split-shard', (s) => s.value);
  if (!parent) fail('split: no shard to choose');
  await page.click('#split-btn');
  await page.waitForFunction(() => document.querySelectorAll('#map g.open').length === 3 &&
    document.querySelectorAll('#map g.closed').length === 1, null, { timeout: 8000 });
  const closed = await page.$eval('#map g.closed', (g) => g.dataset.shard);
  if (closed !== parent) fail(`split: closed shard in the map is ${closed}, want ${parent}`);
  const lineage = await page.$$eval('#map path', (ps) => ps.map((p) => [p.dataset.parent, p.dataset.child]));
  const children = lineage.filter(([p]) => p === parent).map(([, c]) => c);
  if (children.length !== 2) fail('split: lineage lines ' + JSON.stringify(lineage));
  for (const c of children) {
    if (!(await page.$(`#map g.open[data-shard="${c}"]`))) fail(`split: child ${c} is not an open shard in the map`);
  }
  await page.waitForSelector(`#streams tr[data-stream="${STREAM}"] td.shards:text-is("3")`);
  step(`split ${parent} from the UI: children ${children.join(', ')} in the map`);
  await page.screenshot({ path: join(artifacts, 'console-split.png'), fullPage: true });

  // 8. A put from the console's own form goes over the WebSocket and shows in the tail.
  await page.fill('#put-key', 'from-the-form');
  await page.fill('#put-data', '{"hello":"console"}');
  await page.click('#put-btn');
  await page.waitForSelector('#put-result.ok');
  await page.waitForSelector('#tail tbody tr[data-key="from-the-form"]', { timeout: 1000 });
  step('put from the form: ' + (await page.$eval('#put-result', (e) => e.textContent)));

  closing = true;
  if (problems.length) fail('the browser reported errors:\n  ' + problems.join('\n  '));
  step('no errors in the browser console');
} catch (e) {
  exitCode = 1;
  console.error('console test FAILED: ' + e.message);
  if (problems.length) console.error('browser problems:\n  ' + problems.join('\n  '));
  await page.screenshot({ path: join(artifacts, 'console-failure.png'), fullPage: true }).catch(() => {});
} finally {
  closing = true;
  await browser.close();
}
process.exit(exitCode);
