// seed.js — fast set-up for the real-time benchmarks (not a test): inserts N accounts straight
// into a CONVO SQLite database (through Debian's sqlite3 CLI, one transaction) and writes an
// access token for each, one a line, signed with the server's own HS256 secret — what
// `relay signup` gets through POST /auth/signup, without ~35 ms of argon2id per account.
// The accounts have no usable password (the hash column holds a placeholder that never
// verifies). Only for a benchmark's throw-away data dir; the server may already be running on it.
// Usage: node bench/seed.js DB_PATH SECRET_FILE COUNT OUT_FILE [PREFIX]
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const [db, secretFile, countArg, out, prefix = 'seed'] = process.argv.slice(2);
const count = Number(countArg);
if (!db || !secretFile || !out || !Number.isInteger(count) || count < 1 || count > 200000) {
  console.error('usage: node bench/seed.js DB_PATH SECRET_FILE COUNT(1..200000) OUT_FILE [PREFIX]');
  process.exit(2);
}
if (!/^[a-z0-9]{1,16}$/.test(prefix)) {
  console.error('seed: PREFIX must be 1–16 lowercase letters or digits');
  process.exit(2);
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function sign(secret, sub, now) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = b64url(JSON.stringify({
    sub: String(sub), iat: now, exp: now + 900, jti: crypto.randomBytes(12).toString('hex'),
    role: 'user', sid: 'bench-seed',
  }));
  const mac = crypto.createHmac('sha256', secret).update(`${header}.${claims}`).digest();
  return `${header}.${claims}.${b64url(mac)}`;
}

// Every value is a generated number or the checked prefix: nothing from outside reaches the SQL.
const now = Date.now();
const sql = [
  'BEGIN IMMEDIATE;',
  'WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ' + count + ')',
  "INSERT INTO users (email, email_lower, password_hash, nickname, job, career, created_at)",
  `SELECT '${prefix}' || i || '@bench.invalid', '${prefix}' || i || '@bench.invalid',`,
  `'!bench-no-password', '${prefix}' || i, 'backend', 'junior', ${now} FROM n;`,
  `SELECT min(id), max(id) FROM users WHERE email_lower LIKE '${prefix}%@bench.invalid';`,
  'COMMIT;',
].join('\n');
const r = spawnSync('sqlite3', ['-batch', '-cmd', '.timeout 10000', db], { input: sql, encoding: 'utf8' });
if (r.status !== 0) {
  console.error(`seed: sqlite3 failed: ${r.stderr || r.error}`);
  process.exit(1);
}
const [lo, hi] = r.stdout.trim().split('|').map(Number);
if (!(hi - lo + 1 === count)) {
  console.error(`seed: expected ${count} new ids, got ${lo}..${hi} (prefix used before?)`);
  process.exit(1);
}
let secret = fs.readFileSync(secretFile); // trailing newlines are not part of it (as the server reads it)
while (secret.length && (secret[secret.length - 1] === 0x0a || secret[secret.length - 1] === 0x0d)) secret = secret.subarray(0, -1);
const nowS = Math.floor(now / 1000);
const lines = [];
for (let id = lo; id <= hi; id++) lines.push(sign(secret, id, nowS));
fs.writeFileSync(out, lines.join('\n') + '\n', { mode: 0o600 });
console.log(`seed: ${count} accounts (ids ${lo}..${hi}), tokens in ${out}`);
