// web.js — first load of the web client's landing page in headless Chromium (Debian's, through
// playwright-core) against build/convo: bytes transferred (CDP Network: encoded bytes on the
// wire with headers; Performance API: transferSize and encodedBodySize, decodedBodySize for
// the uncompressed weight), number of requests, and the timings of PerformanceNavigationTiming
// (domInteractive, DOMContentLoaded end, load end), first contentful paint, and "app ready" (the
// booted view is in #main: no loading placeholder left). Each run uses a fresh browser context
// (empty cache, no cookies); figures are medians of the runs. Then the same page reloaded in
// its context (every file revalidated: 304s). Desktop 1280x800 and a 360x740 phone viewport.
// Not a test: it prints figures for docs/benchmarks.md. Usage: node bench/web.js [runs, default 10]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const BIN = process.env.CONVO_BIN || path.resolve(__dirname, '../build/convo');
const CHROMIUM = process.env.CONVO_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const RUNS = Number(process.argv[2] || 10);
const VIEWPORTS = [
  { name: 'desktop 1280x800', viewport: { width: 1280, height: 800 } },
  { name: 'phone 360x740', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// build/convo on a free port with a fresh data dir; its origin is the public origin (so the
// page's WebSocket and cookies work as in production).
async function startServer() {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'convo-bench-web-'));
  const proc = spawn(BIN, [], {
    env: { ...process.env, CONVO_LISTEN: `127.0.0.1:${port}`, CONVO_PUBLIC_ORIGIN: origin,
      CONVO_DATA_DIR: path.join(dataDir, 'data'), CONVO_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`${BIN} exited ${code} before listening`)));
  });
  const stop = () => new Promise((resolve) => {
    proc.removeAllListeners('exit');
    proc.on('exit', () => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      resolve();
    });
    proc.kill('SIGTERM');
  });
  return { origin, stop };
}

// Runs in the page before its scripts: records when the booted view lands in #main.
function watchReady() {
  const check = () => {
    const main = document.getElementById('main');
    if (window.__appReady === undefined && main && main.firstElementChild && !main.querySelector('.loading')) {
      window.__appReady = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
}

// The requests of one load, from the Chrome DevTools Protocol: bytes on the wire per request.
async function recordNetwork(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const requests = new Map();
  cdp.on('Network.requestWillBeSent', (e) => {
    if (!e.request.url.startsWith('data:')) requests.set(e.requestId, { url: e.request.url, bytes: 0, status: 0 });
  });
  cdp.on('Network.responseReceived', (e) => {
    const r = requests.get(e.requestId);
    if (r) r.status = e.response.status;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = requests.get(e.requestId);
    if (r) r.bytes = e.encodedDataLength;
  });
  return {
    reset: () => requests.clear(),
    list: () => [...requests.values()],
  };
}

// What the page itself reports once the network is idle.
function pageFigures() {
  const nav = performance.getEntriesByType('navigation')[0];
  const entries = [nav, ...performance.getEntriesByType('resource')];
  const sum = (k) => entries.reduce((n, e) => n + (e[k] || 0), 0);
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {
    transferSize: sum('transferSize'), encodedBodySize: sum('encodedBodySize'),
    decodedBodySize: sum('decodedBodySize'), perfEntries: entries.length,
    domInteractive: nav.domInteractive, domContentLoaded: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd, fcp: fcp ? fcp.startTime : null, appReady: window.__appReady ?? null,
  };
}

async function loadOnce(page, net, load) {
  net.reset();
  await load();
  await page.waitForFunction(() => window.__appReady !== undefined, null, { timeout: 15000 });
  const figures = await page.evaluate(pageFigures);
  const reqs = net.list();
  return { ...figures, requests: reqs.length, wireBytes: reqs.reduce((n, r) => n + r.bytes, 0),
    notModified: reqs.filter((r) => r.status === 304).length, urls: reqs.map((r) => `${r.status} ${new URL(r.url).pathname}`) };
}

async function runOnce(browser, origin, vp) {
  const { name: _name, ...options } = vp;
  const context = await browser.newContext({ ...options, locale: 'ko-KR', baseURL: origin });
  try {
    await context.addInitScript(watchReady);
    const page = await context.newPage();
    const net = await recordNetwork(page);
    const first = await loadOnce(page, net, () => page.goto('/', { waitUntil: 'networkidle' }));
    const reload = await loadOnce(page, net, () => page.reload({ waitUntil: 'networkidle' }));
    return { first, reload };
  } finally {
    await context.close();
  }
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

const KEYS = ['wireBytes', 'transferSize', 'encodedBodySize', 'decodedBodySize', 'requests', 'notModified',
  'domInteractive', 'domContentLoaded', 'load', 'fcp', 'appReady'];

function summarise(runs) {
  const out = {};
  for (const k of KEYS) {
    const m = median(runs.map((r) => r[k]));
    out[k] = m === null ? null : +m.toFixed(1);
  }
  out.minLoad = +Math.min(...runs.map((r) => r.load)).toFixed(1);
  out.maxLoad = +Math.max(...runs.map((r) => r.load)).toFixed(1);
  return out;
}

async function main() {
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const results = { runs: RUNS, chromium: browser.version(), cores: os.cpus().length, viewports: [] };
  try {
    for (const vp of VIEWPORTS) {
      await runOnce(browser, server.origin, vp); // warm-up (not counted): the server's and Chromium's first run
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await runOnce(browser, server.origin, vp));
      results.viewports.push({
        name: vp.name,
        first: summarise(runs.map((r) => r.first)),
        reload: summarise(runs.map((r) => r.reload)),
        requests: runs[runs.length - 1].first.urls,
      });
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  console.log(JSON.stringify(results, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
