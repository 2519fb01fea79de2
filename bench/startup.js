// startup.js — cold start and idle memory of build/convo: time from spawn to the `listening on`
// line (fresh data dir each run, so the database is created and migrated every time), and the
// resident memory of an idle server. Prints JSON. Usage: node bench/startup.js [runs]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const bin = process.env.CONVO_BIN || path.resolve(__dirname, '../build/convo');
const runs = Number(process.argv[2] || 20);

function startOnce(dataDir) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const proc = spawn(bin, [], {
      env: { ...process.env, CONVO_LISTEN: '127.0.0.1:0', CONVO_DATA_DIR: dataDir, CONVO_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        resolve({ proc, ms });
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code} before listening`)));
  });
}

function stop(proc) {
  return new Promise((resolve) => {
    proc.removeAllListeners('exit');
    proc.on('exit', resolve);
    proc.kill('SIGTERM');
  });
}

function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

async function main() {
  const times = [];
  let idleRss = 0;
  for (let i = 0; i < runs; i++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'convo-bench-'));
    const { proc, ms } = await startOnce(dataDir);
    times.push(ms);
    if (i === runs - 1) {
      await new Promise((r) => setTimeout(r, 1000));
      idleRss = rssKiB(proc.pid);
    }
    await stop(proc);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(JSON.stringify({ runs, startMedianMs: +median.toFixed(2), startMinMs: +times[0].toFixed(2),
    startMaxMs: +times[times.length - 1].toFixed(2), idleRssKiB: idleRss }));
}

main().catch((e) => { console.error(e); process.exit(1); });
