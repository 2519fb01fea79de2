#!/usr/bin/env bash
# http.sh — HTTP throughput of build/convo with wrk (keep-alive, 64 connections, 2 threads):
# /healthz and a static file; then cold start and idle RSS (bench/startup.js). Not a test: it
# prints figures for docs/benchmarks.md. Usage: bash bench/http.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
. bench/lib.sh
start_server
echo "server: $url (pid $pid), $(nproc) cores, wrk -t2 -c64 -d${secs}s"
for path in /healthz /style.css; do
  echo "== GET $path"
  wrk -t2 -c64 -d"${secs}s" --latency "$url$path" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|Socket errors'
done
echo "== server RSS after load: $(awk '/VmRSS/{print $2 " KiB"}' /proc/$pid/status)"
echo "== cold start and idle RSS (20 runs)"
CONVO_BIN="$bench_bin" node bench/startup.js 20
