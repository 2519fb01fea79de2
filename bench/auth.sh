#!/usr/bin/env bash
# auth.sh — account benchmarks against build/convo (not a test): log-ins/s (argon2id bound),
# refreshes/s, GET /me/s with a valid token, and /healthz latency while a log-in storm runs.
# Usage: bash bench/auth.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
. bench/lib.sh
start_server
session=$(curl -s -i -X POST "$url/api/v1/auth/signup" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"bench-password-1","nickname":"bench"}')
token=$(printf '%s' "$session" | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')
cookie=$(printf '%s' "$session" | sed -n 's/^Set-Cookie: convo_rt=\([^;]*\);.*/\1/p')
echo "server: $url (pid $pid), $(nproc) cores"
echo "== log-ins (argon2id t=2, m=19 MiB, 4 pool threads): wrk -t2 -c8 -d${secs}s"
wrk -t2 -c8 -d"${secs}s" --latency -s bench/lua/login.lua "$url" | grep -E 'Requests/sec|50%|99%|Non-2xx'
echo "== refreshes: wrk -t1 -c4 -d${secs}s"
COOKIE="$cookie" wrk -t1 -c4 -d"${secs}s" --latency -s bench/lua/refresh.lua "$url" | grep -E 'Requests/sec|50%|99%|Non-2xx'
echo "== GET /api/v1/me with a valid token: wrk -t2 -c64 -d${secs}s"
wrk -t2 -c64 -d"${secs}s" --latency -H "Authorization: Bearer $token" "$url/api/v1/me" | grep -E 'Requests/sec|50%|99%|Non-2xx'
echo "== /healthz during a log-in storm (storm: wrk -t1 -c32; probe: wrk -t1 -c4 -R none)"
wrk -t1 -c32 -d"$((secs + 2))s" -s bench/lua/login.lua "$url" >/dev/null &
storm=$!
sleep 1
wrk -t1 -c4 -d"${secs}s" --latency "$url/healthz" | grep -E 'Requests/sec|50%|90%|99%'
wait $storm
