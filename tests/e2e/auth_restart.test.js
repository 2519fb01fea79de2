'use strict';
// Sessions survive a restart on the same data dir: the refresh cookie issued before it still
// refreshes after it, and the old access token still verifies (the generated secret is kept).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');

test('restart on the same data dir: old refresh cookie and old access token still work', { timeout: 60000 }, async (t) => {
  const dataDir = path.join(h.tempDir(t, 'convo-e2e-restart-'), 'data');
  const first = await h.startServer({ dataDir });
  const api = new k.Api(first);
  let s;
  let secret1;
  let rotated;
  try {
    s = await api.signup({ nickname: 'survivor' });
    rotated = await api.login(s.email, s.password);
    const patched = await api.patch('/api/v1/me', { json: { job: 'devops' }, token: s.token });
    assert.equal(patched.status, 200, patched.text);
    secret1 = fs.readFileSync(path.join(dataDir, 'jwt.secret'), 'utf8');
  } finally {
    k.assertNoSecretsLogged(await first.stop(), api.secrets);
  }

  const second = await h.startServer({ dataDir });
  api.server = second;
  try {
    assert.equal(fs.readFileSync(path.join(dataDir, 'jwt.secret'), 'utf8'), secret1, 'jwt.secret changed');
    const me = await api.me(s.token);
    assert.equal(me.status, 200, `the pre-restart access token: ${me.text}`);
    assert.equal(me.json.id, s.user.id);
    assert.equal(me.json.job, 'devops');
    const r = await api.refreshOk(s.cookie);
    assert.equal(r.user.id, s.user.id);
    assert.equal(r.user.job, 'devops');
    await api.refreshOk(r.cookie);
    const r2 = await api.refreshOk(rotated.cookie);
    assert.equal(r2.user.id, s.user.id);
    // The password still logs in; the email is still taken.
    await api.login(s.email, s.password);
    const dup = await api.signupRaw({ email: s.email.toUpperCase(), password: k.newPassword(), nickname: 'copycat' });
    h.assertErrorShape(dup, 409, 'EMAIL_TAKEN');
  } finally {
    k.assertNoSecretsLogged(await second.stop(), api.secrets);
  }
});
