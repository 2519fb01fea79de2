'use strict';
// Shared helpers for CONVO's end-to-end tests (node --test, no npm packages).
//
// startServer() runs the binary on 127.0.0.1:0 with a fresh data dir and waits for its
// `listening on http://…` line; stop() sends SIGTERM, waits for the exit and fails on a non-zero
// exit code or any sanitizer report in stderr. useServer(t) does both around one test.
// request() is a plain HTTP client (node:http, no connection reuse); RawConn / rawExchange talk
// raw bytes to the port, parseResponses() splits what came back into HTTP/1.1 responses.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const BIN = process.env.CONVO_BIN || path.resolve(__dirname, '../../build-asan/convo');
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 10000;
const RUN_TIMEOUT_MS = 10000;
const DEFAULT_IO_TIMEOUT_MS = 5000;
const SANITIZER_RE = /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;
const LISTEN_RE = /^listening on http:\/\/127\.0\.0\.1:(\d+)$/;

// ---------------------------------------------------------------------------------------------
// temp dirs and environment

function makeTempDir(prefix = 'convo-e2e-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function removeDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

// A temp dir removed after the test t.
function tempDir(t, prefix) {
  const dir = makeTempDir(prefix);
  t.after(() => removeDir(dir));
  return dir;
}

// The parent's environment without any CONVO_* variable, so a developer's settings never leak
// into a test; sanitizer options make reports loud and fatal.
function baseEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CONVO_')) env[k] = v;
  }
  env.ASAN_OPTIONS = env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0';
  env.UBSAN_OPTIONS = env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1';
  return env;
}

function assertBinaryExists() {
  if (!fs.existsSync(BIN)) {
    assert.fail(`server binary ${BIN} not found: build it (make asan) or set CONVO_BIN`);
  }
}

function assertNoSanitizerReport(stderr, what = 'server') {
  const m = SANITIZER_RE.exec(stderr);
  if (m) {
    assert.fail(`${what} stderr contains a sanitizer report (${m[0]}):\n${crashSummary(stderr)}`);
  }
}

// The part of stderr worth reading: from a sanitizer report on, or else the tail.
function crashSummary(stderr, n = 5000) {
  const m = SANITIZER_RE.exec(stderr);
  if (!m) return tail(stderr, n);
  const start = stderr.lastIndexOf('\n', m.index) + 1;
  return stderr.slice(start, start + n);
}

function tail(text, n = 3000) {
  return text.length > n ? '…' + text.slice(-n) : text;
}

// ---------------------------------------------------------------------------------------------
// the server process

// Starts the server. opts.env is merged over the defaults (null values delete a variable);
// opts.dataDir is used as is (not removed), else a fresh `<tmp>/data` is created by the server.
async function startServer(opts = {}) {
  assertBinaryExists();
  let ownedRoot = null;
  let dataDir = opts.dataDir;
  if (!dataDir) {
    ownedRoot = makeTempDir();
    dataDir = path.join(ownedRoot, 'data'); // the server creates it
  }
  const env = {
    ...baseEnv(),
    CONVO_LISTEN: `${HOST}:0`,
    CONVO_DATA_DIR: dataDir,
    CONVO_LOG: 'debug',
  };
  for (const [k, v] of Object.entries(opts.env || {})) {
    if (v === null || v === undefined) delete env[k];
    else env[k] = String(v);
  }
  const cwd = opts.cwd || ownedRoot || path.dirname(dataDir);
  const proc = spawn(BIN, opts.args || [], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });

  let stdout = '';
  let stderr = '';
  const exited = new Promise((resolve) => {
    // 'close' fires after the exit and after stdout/stderr are drained.
    proc.on('close', (code, signal) => resolve({ code, signal }));
  });
  let exitInfo = null;
  let stopping = false;
  exited.then((info) => {
    exitInfo = info;
    if (!stopping) {
      // A crash mid-test shows up as ECONNREFUSED in the test; say why, right away.
      process.stderr.write(`convo server (pid ${proc.pid}) exited unexpectedly: code ${info.code}, ` +
        `signal ${info.signal}\n${crashSummary(stderr)}\n`);
    }
  });
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr += d; });

  const cleanupRoot = () => { if (ownedRoot) removeDir(ownedRoot); };

  let port;
  try {
    port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`server did not print "listening on http://${HOST}:PORT" within ` +
          `${START_TIMEOUT_MS} ms\nstdout: ${JSON.stringify(stdout)}\nstderr:\n${tail(stderr)}`));
      }, START_TIMEOUT_MS);
      let settled = false;
      const onData = (d) => {
        stdout += d;
        if (settled) return;
        const nl = stdout.indexOf('\n');
        if (nl < 0) return;
        const m = LISTEN_RE.exec(stdout.slice(0, nl));
        settled = true;
        clearTimeout(timer);
        if (m) resolve(Number(m[1]));
        else reject(new Error(`unexpected first stdout line: ${JSON.stringify(stdout.slice(0, nl))}`));
      };
      proc.stdout.on('data', onData);
      proc.on('error', (err) => { clearTimeout(timer); reject(err); });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`server exited before listening (code ${code}, signal ${signal})\n` +
          `stdout: ${JSON.stringify(stdout)}\nstderr:\n${tail(stderr)}`));
      });
    });
  } catch (err) {
    if (!exitInfo) {
      proc.kill('SIGKILL');
      await exited;
    }
    cleanupRoot();
    throw err;
  }

  let stopResult = null;
  let signalled = false;
  let signalledAt = null;
  const server = {
    url: `http://${HOST}:${port}`,
    port,
    host: HOST,
    pid: proc.pid,
    proc,
    dataDir,
    exited,
    stderr: () => stderr,
    stdout: () => stdout,
    logLines: () => logLines(stderr),
    // Sends a signal now without waiting; a later stop() waits for the exit without re-signalling.
    signal(sig = 'SIGTERM') {
      stopping = true;
      signalled = true;
      signalledAt = Date.now();
      proc.kill(sig);
    },
    // SIGTERM, wait for the exit; fails on a timeout, an unexpected exit code or a sanitizer report.
    // Idempotent: a second call returns the first result. opts.expectCode (default 0; null = any).
    async stop(stopOpts = {}) {
      if (stopResult) return stopResult;
      stopping = true;
      const { expectCode = 0, timeoutMs = STOP_TIMEOUT_MS, signal = 'SIGTERM' } = stopOpts;
      const t0 = Date.now();
      let killedHard = false;
      const alreadyExited = exitInfo !== null && !signalled; // exited on its own
      if (exitInfo === null && !signalled) proc.kill(signal);
      const waitMs = Math.max(0, timeoutMs - (Date.now() - (signalledAt || t0)));
      let timer;
      const info = await Promise.race([
        exited,
        new Promise((resolve) => { timer = setTimeout(() => resolve(null), waitMs); }),
      ]);
      clearTimeout(timer);
      let result;
      if (info === null) {
        killedHard = true;
        proc.kill('SIGKILL');
        result = { ...(await exited) };
      } else {
        result = { ...info };
      }
      result.elapsedMs = Date.now() - (signalledAt || t0);
      result.stderr = stderr;
      result.stdout = stdout;
      stopResult = result;
      cleanupRoot();
      if (alreadyExited) {
        assert.fail(`server had already exited before stop() (code ${result.code}, signal ` +
          `${result.signal})\nstderr:\n${crashSummary(stderr)}`);
      }
      if (killedHard) {
        assert.fail(`server did not exit within ${timeoutMs} ms of ${signal}; SIGKILLed\n` +
          `stderr:\n${tail(stderr)}`);
      }
      assertNoSanitizerReport(stderr);
      if (expectCode !== null) {
        assert.equal(result.code, expectCode,
          `server exit code ${result.code} (signal ${result.signal}), expected ${expectCode}\n` +
          `stderr:\n${tail(stderr)}`);
      }
      return result;
    },
  };
  return server;
}

// Starts a server for test t and stops it (with the checks of stop()) after it.
// A failure here after the test itself failed would go unreported by the runner, and it is
// usually the cause (a crash), so it is also written to stderr.
async function useServer(t, opts) {
  const server = await startServer(opts);
  t.after(async () => {
    try {
      await server.stop();
    } catch (err) {
      process.stderr.write(`[${t.name}] server check failed: ${err.message}\n`);
      throw err;
    }
  });
  return server;
}

// Runs the binary to completion (config errors, --help, --version) in a scratch cwd.
// env is merged over baseEnv() (null deletes); returns {code, signal, stdout, stderr}.
function runBinary(args = [], env = {}, opts = {}) {
  assertBinaryExists();
  const scratch = makeTempDir('convo-run-');
  const fullEnv = { ...baseEnv(), CONVO_DATA_DIR: path.join(scratch, 'data') };
  for (const [k, v] of Object.entries(env)) {
    if (v === null || v === undefined) delete fullEnv[k];
    else fullEnv[k] = String(v);
  }
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, args, { env: fullEnv, cwd: opts.cwd || scratch, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${BIN} ${args.join(' ')} did not exit within ${RUN_TIMEOUT_MS} ms\n` +
        `stdout: ${JSON.stringify(stdout)}\nstderr:\n${tail(stderr)}`));
    }, opts.timeoutMs || RUN_TIMEOUT_MS);
    proc.on('error', (err) => { clearTimeout(timer); removeDir(scratch); reject(err); });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      removeDir(scratch);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// Parses the server's stderr: one JSON object a line. Throws on a line that is not one.
function logLines(stderr) {
  const out = [];
  for (const line of stderr.split('\n')) {
    if (line === '') continue;
    let obj;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new Error(`stderr line is not JSON: ${JSON.stringify(line.slice(0, 500))}`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new Error(`stderr line is not a JSON object: ${JSON.stringify(line.slice(0, 500))}`);
    }
    out.push(obj);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// HTTP client (node:http, a fresh connection per request)

// request(url, {method, headers, body, timeoutMs}) → {status, headers, body, text, json}.
// headers are lower-cased (node:http); json is undefined when the body is not JSON.
function request(url, opts = {}) {
  const { method = 'GET', headers = {}, body, timeoutMs = DEFAULT_IO_TIMEOUT_MS } = opts;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders,
          body: buf, text, json: tryJson(text) });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${url}: no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => { clearTimeout(timer); reject(err); });
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

function tryJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// raw sockets

// A raw TCP connection that records everything it receives and when the server closes it.
class RawConn {
  static open(port, { host = HOST, timeoutMs = DEFAULT_IO_TIMEOUT_MS } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawConn(sock));
      });
      sock.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.chunks = [];
    this.length = 0;
    this.closed = false;
    this.closedAt = null;
    this.error = null;
    this.waiters = new Set();
    sock.on('data', (d) => {
      this.chunks.push(d);
      this.length += d.length;
      this.notify();
    });
    sock.on('error', (err) => { this.error = err; });
    sock.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.notify();
    });
  }

  get data() {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] || Buffer.alloc(0);
  }

  notify() {
    for (const w of [...this.waiters]) w();
  }

  write(bytes) {
    return new Promise((resolve, reject) => {
      this.sock.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  // Resolves with the data once pred(data, closed) is true; rejects on timeout, or when the
  // connection closes first (unless the predicate accepts a closed connection).
  waitFor(pred, { timeoutMs = DEFAULT_IO_TIMEOUT_MS, what = 'condition' } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pred(this.data, this.closed)) {
          done();
          resolve(this.data);
        } else if (this.closed) {
          done();
          reject(new Error(`connection closed before ${what}` +
            `${this.error ? ` (${this.error.code || this.error.message})` : ''}; received ` +
            `${this.length} bytes: ${JSON.stringify(this.data.toString('latin1').slice(0, 600))}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ` +
          `${this.length} bytes: ${JSON.stringify(this.data.toString('latin1').slice(0, 600))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  // Waits for n complete responses; returns them (parseResponses options apply).
  async responses(n, { timeoutMs = DEFAULT_IO_TIMEOUT_MS, methods } = {}) {
    await this.waitFor((d, closed) => parseResponses(d, { methods, closed }).length >= n,
      { timeoutMs, what: `${n} response(s)` });
    return parseResponses(this.data, { methods, closed: this.closed });
  }

  // Waits until the server closes the connection; returns the ms waited.
  async waitClose({ timeoutMs = DEFAULT_IO_TIMEOUT_MS } = {}) {
    const t0 = Date.now();
    await this.waitFor((d, closed) => closed, { timeoutMs, what: 'the server to close the connection' });
    return Date.now() - t0;
  }

  close() {
    this.sock.destroy();
  }
}

// Writes bytes (a Buffer, string, or an array of them written in order) and collects everything
// until the server closes, until(data) is true, or timeoutMs passes.
// Returns {data, closed, timedOut, error, responses}.
async function rawExchange(port, bytes, { until, timeoutMs = DEFAULT_IO_TIMEOUT_MS, methods } = {}) {
  const conn = await RawConn.open(port);
  try {
    // Queued, not awaited: a server that stops reading must not block the wait below.
    for (const part of Array.isArray(bytes) ? bytes : [bytes]) {
      conn.write(part).catch((err) => { conn.error = conn.error || err; });
    }
    let timedOut = false;
    try {
      await conn.waitFor((d, closed) => closed || (until ? until(d) : false), { timeoutMs });
    } catch {
      timedOut = true;
    }
    const data = conn.data;
    return { data, closed: conn.closed, timedOut, error: conn.error,
      responses: parseResponses(data, { methods, closed: conn.closed }) };
  } finally {
    conn.close();
  }
}

// until-predicate: n complete responses have arrived.
function untilResponses(n, methods) {
  return (d) => parseResponses(d, { methods }).length >= n;
}

// Splits a byte stream into complete HTTP/1.x responses. Bodies are delimited by Content-Length,
// chunked Transfer-Encoding, or (only when closed) the end of the stream; responses to HEAD
// (opts.methods[i] === 'HEAD'), 1xx, 204 and 304 have no body. The incomplete tail, if any, is
// left in the returned array's `rest` property.
function parseResponses(buffer, opts = {}) {
  const { methods = [], closed = false } = opts;
  const out = [];
  let pos = 0;
  for (;;) {
    const headEnd = buffer.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd < 0) break;
    const head = buffer.toString('latin1', pos, headEnd);
    const lines = head.split('\r\n');
    const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (!m) throw new Error(`not an HTTP status line: ${JSON.stringify(lines[0])}`);
    const headers = {};
    const headerList = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headerList.push([name, value]);
      if (name === 'set-cookie') (headers[name] = headers[name] || []).push(value);
      else headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    const status = Number(m[2]);
    const method = methods[out.length];
    let bodyStart = headEnd + 4;
    let body;
    let next;
    if (method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304) {
      body = Buffer.alloc(0);
      next = bodyStart;
    } else if (/\bchunked\b/i.test(headers['transfer-encoding'] || '')) {
      const parts = [];
      let p = bodyStart;
      let complete = false;
      for (;;) {
        const lineEnd = buffer.indexOf('\r\n', p, 'latin1');
        if (lineEnd < 0) break;
        const size = parseInt(buffer.toString('latin1', p, lineEnd).split(';')[0], 16);
        if (Number.isNaN(size)) throw new Error('bad chunk size line');
        if (size === 0) {
          const trailerEnd = buffer.indexOf('\r\n', lineEnd + 2, 'latin1');
          // no trailers: "0\r\n\r\n"
          if (trailerEnd < 0) break;
          p = trailerEnd + 2;
          complete = true;
          break;
        }
        if (buffer.length < lineEnd + 2 + size + 2) break;
        parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
      next = p;
    } else if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      if (!Number.isInteger(len) || len < 0) throw new Error(`bad Content-Length ${headers['content-length']}`);
      if (buffer.length < bodyStart + len) break;
      body = buffer.subarray(bodyStart, bodyStart + len);
      next = bodyStart + len;
    } else {
      if (!closed) break; // body runs to the end of the stream
      body = buffer.subarray(bodyStart);
      next = buffer.length;
    }
    const text = body.toString('utf8');
    out.push({ httpVersion: m[1], status, reason: m[3] || '', headers, headerList, body, text,
      json: tryJson(text), raw: buffer.subarray(pos, next) });
    pos = next;
  }
  out.rest = buffer.subarray(pos);
  return out;
}

// ---------------------------------------------------------------------------------------------
// assertions shared by the tests

function normalizeContentType(ct) {
  return String(ct || '').toLowerCase().replace(/\s+/g, '');
}

function assertJsonContentType(res) {
  assert.equal(normalizeContentType(res.headers['content-type']), 'application/json;charset=utf-8',
    `Content-Type: ${res.headers['content-type']}`);
}

function requestIdOf(res) {
  const id = res.headers['x-request-id'];
  assert.ok(typeof id === 'string' && id.length > 0,
    `response ${res.status} has no X-Request-Id header (headers: ${JSON.stringify(res.headers)})`);
  return id;
}

// SPEC §3.1: {"error":{"code","message","requestId"[,"fields"]}}, JSON content type, and
// error.requestId equal to the X-Request-Id header. statuses: one status or a list.
function assertErrorShape(res, statuses, code) {
  const allowed = Array.isArray(statuses) ? statuses : [statuses];
  assert.ok(allowed.includes(res.status),
    `status ${res.status}, expected ${allowed.join(' or ')}; body: ${res.text.slice(0, 300)}`);
  assertJsonContentType(res);
  const body = res.json;
  assert.ok(body && typeof body === 'object' && body.error && typeof body.error === 'object',
    `body is not {"error":{…}}: ${res.text.slice(0, 300)}`);
  if (code !== undefined) assert.equal(body.error.code, code, `error.code in ${res.text.slice(0, 300)}`);
  else assert.equal(typeof body.error.code, 'string');
  assert.ok(typeof body.error.message === 'string' && body.error.message.length > 0,
    `error.message missing: ${res.text.slice(0, 300)}`);
  assert.equal(body.error.requestId, requestIdOf(res), 'error.requestId must equal X-Request-Id');
  return body.error;
}

// Retries fn until it resolves without throwing, for at most timeoutMs (state the server reaches
// asynchronously, e.g. after closed connections are reaped). Returns fn's value.
async function eventually(fn, { timeoutMs = 5000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

function fileMode(p) {
  return fs.statSync(p).mode & 0o777;
}

module.exports = {
  BIN,
  HOST,
  RawConn,
  assertErrorShape,
  assertJsonContentType,
  assertNoSanitizerReport,
  baseEnv,
  eventually,
  fileMode,
  logLines,
  makeTempDir,
  parseResponses,
  rawExchange,
  removeDir,
  request,
  requestIdOf,
  runBinary,
  startServer,
  tempDir,
  untilResponses,
  useServer,
};
