'use strict';
// SPEC §2: start-up, the data dir and its generated secret, --help/--version, config errors.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const h = require('./harness');

const T = { timeout: 30000 };

test('fresh data dir: one listening line, dir 0700, jwt.secret 0600, exit 0', T, async (t) => {
  const root = h.tempDir(t);
  const dataDir = path.join(root, 'data');
  const server = await h.startServer({ dataDir });
  t.after(() => server.stop());

  assert.ok(server.port > 0 && server.port < 65536, `port ${server.port}`);
  const res = await h.request(`${server.url}/healthz`);
  assert.equal(res.status, 200);

  assert.equal(h.fileMode(dataDir), 0o700, `data dir mode ${h.fileMode(dataDir).toString(8)}`);
  const secretPath = path.join(dataDir, 'jwt.secret');
  assert.ok(fs.existsSync(secretPath), 'jwt.secret was not created');
  assert.equal(h.fileMode(secretPath), 0o600, `jwt.secret mode ${h.fileMode(secretPath).toString(8)}`);
  assert.ok(fs.statSync(secretPath).size >= 32, 'jwt.secret shorter than 32 bytes');

  const result = await server.stop();
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `listening on http://127.0.0.1:${server.port}\n`,
    'stdout must be exactly one listening line');
});

test('restart on the same data dir keeps jwt.secret byte-identical', T, async (t) => {
  const root = h.tempDir(t);
  const dataDir = path.join(root, 'data');
  const secretPath = path.join(dataDir, 'jwt.secret');

  const first = await h.startServer({ dataDir });
  t.after(() => first.stop());
  const before = fs.readFileSync(secretPath);
  await first.stop();

  const second = await h.startServer({ dataDir });
  t.after(() => second.stop());
  assert.equal((await h.request(`${second.url}/healthz`)).status, 200);
  await second.stop();

  assert.ok(fs.readFileSync(secretPath).equals(before), 'jwt.secret changed across a restart');
  assert.equal(h.fileMode(secretPath), 0o600);
});

test('a --flag wins over its environment variable', T, async (t) => {
  const root = h.tempDir(t);
  const envDir = path.join(root, 'from-env');
  const flagDir = path.join(root, 'from-flag');
  const server = await h.useServer(t, { dataDir: envDir, args: ['--data-dir', flagDir] });
  assert.equal((await h.request(`${server.url}/healthz`)).status, 200);
  assert.ok(fs.existsSync(path.join(flagDir, 'jwt.secret')), 'the --data-dir was not used');
  assert.ok(!fs.existsSync(envDir), 'CONVO_DATA_DIR was used although --data-dir was given');
});

test('--help prints usage mentioning CONVO_LISTEN on stdout and exits 0', T, async () => {
  const r = await h.runBinary(['--help']);
  h.assertNoSanitizerReport(r.stderr, '--help');
  assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stdout, /CONVO_LISTEN/);
});

test('--version prints something on stdout and exits 0', T, async () => {
  const r = await h.runBinary(['--version']);
  h.assertNoSanitizerReport(r.stderr, '--version');
  assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
  assert.ok(r.stdout.trim().length > 0, '--version printed nothing');
});

// Each case: a bad setting → exit 2 and exactly one non-empty line on stderr.
const SHORT_SECRET = 'tooShortSecret-Xq7'; // 18 bytes, distinctive so a leak is detectable
const BAD_CONFIGS = [
  { name: 'CONVO_LISTEN=nonsense', env: { CONVO_LISTEN: 'nonsense' } },
  { name: 'CONVO_LISTEN=127.0.0.1:99999', env: { CONVO_LISTEN: '127.0.0.1:99999' } },
  { name: 'CONVO_LISTEN=127.0.0.1:-1', env: { CONVO_LISTEN: '127.0.0.1:-1' } },
  { name: '--listen=127.0.0.1:99999', args: ['--listen=127.0.0.1:99999'] },
  { name: 'CONVO_JWT_SECRET under 32 bytes', env: { CONVO_JWT_SECRET: SHORT_SECRET }, secret: SHORT_SECRET },
  { name: '--jwt-secret under 32 bytes', args: ['--jwt-secret', SHORT_SECRET], secret: SHORT_SECRET },
  { name: 'CONVO_LOG=verbose', env: { CONVO_LOG: 'verbose' } },
  { name: 'CONVO_DATA_DIR under a regular file', dataDirUnderFile: true },
  { name: 'unknown flag --nope', args: ['--nope'] },
];

for (const c of BAD_CONFIGS) {
  test(`bad config exits 2 with one line on stderr: ${c.name}`, T, async (t) => {
    const env = { ...(c.env || {}) };
    if (c.dataDirUnderFile) {
      const root = h.tempDir(t);
      const file = path.join(root, 'afile');
      fs.writeFileSync(file, 'not a directory\n');
      env.CONVO_DATA_DIR = path.join(file, 'sub');
    }
    if (!('CONVO_LISTEN' in env)) env.CONVO_LISTEN = '127.0.0.1:0';
    const r = await h.runBinary(c.args || [], env);
    h.assertNoSanitizerReport(r.stderr, c.name);
    assert.equal(r.code, 2, `exit code ${r.code} (signal ${r.signal}); stdout ${JSON.stringify(r.stdout)}; ` +
      `stderr ${JSON.stringify(r.stderr.slice(0, 2000))}`);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, `expected one stderr line, got ${lines.length}: ${JSON.stringify(r.stderr.slice(0, 2000))}`);
    assert.doesNotMatch(r.stdout, /listening on/, 'the server started despite a bad config');
    if (c.secret) assert.ok(!r.stderr.includes(c.secret), 'the secret value appears in stderr');
  });
}

test('a port already in use: one clear line on stderr, exit 1, nothing leaked', T, async (t) => {
  const server = await h.useServer(t);
  const r = await h.runBinary([], { CONVO_LISTEN: `127.0.0.1:${server.port}` });
  assert.equal(r.code, 1, `exit code ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${server.port}: address already in use`));
  assert.doesNotMatch(r.stdout, /listening on/);
  h.assertNoSanitizerReport(r.stderr, 'the second server');
});
