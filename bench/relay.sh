#!/usr/bin/env bash
# relay.sh — real-time benchmarks of build/convo with bench/relay (not a test): message relay
# throughput (pairs of users, a window of unacked messages), latency at a fixed offered rate,
# server memory per authenticated idle WebSocket, and a Redis PUBLISH reference for scale.
# Prints a block for docs/benchmarks.md. Only 127.0.0.1 is used; every step is bounded in time.
# Usage: bash bench/relay.sh [seconds per run, default 10] [idle sockets, default 10000]
# Needs redis-server and redis-tools for the reference (skipped, with a note, when absent), and
# curl for the server's own ack-latency histogram (/metrics).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
idle=${2:-10000}
rate=${RELAY_RATE:-20000}            # offered msg/s of the latency run …
low_rate=${RELAY_LOW_RATE:-10000}    # … and of a second one, below saturation
tp_pairs=${RELAY_TP_PAIRS:-100}      # the throughput run of the brief: 100 pairs, window 32
sat_pairs=${RELAY_SAT_PAIRS:-4000}   # 8000 sockets at 19 frames/s each can offer 152k msg/s …
sat_window=${RELAY_SAT_WINDOW:-8}    # … with 64k unacked in all: under the store's queue (65,536)
lat_pairs=${RELAY_LAT_PAIRS:-1000}   # 2000 senders: 20k msg/s is 10 msg/s per socket
# Every run gets users of its own (the matcher never re-pairs a previous partner for 30 s); the
# idle test reuses them. Accounts are seeded straight into the server's database with tokens
# signed by its secret (bench/seed.js, a second); RELAY_SIGNUP=1 creates them through
# POST /auth/signup instead (argon2id: ~100/s here). Access tokens live 15 min.
need=$((2 * (tp_pairs + sat_pairs + 2 * lat_pairs)))
users=$((idle > need ? idle : need))

ulimit -n "$(ulimit -Hn)"         # the server inherits it too
if [ "$(ulimit -n)" -lt $((idle + 100)) ]; then
  echo "ulimit -n is $(ulimit -n): too low for $idle idle sockets" >&2
  exit 1
fi
make -s -C bench/relay
relay=bench/relay/relay
. bench/lib.sh
start_server CONVO_MAX_CONNECTIONS=20000
port=${url##*:}
out=$(mktemp -d)
eval "set -- $(trap -p EXIT)"
lib_cleanup=$3
redis_pid= sub_pid=
stop_redis() { # the subscriber and the server, by their PIDs
  local p
  for p in $sub_pid $redis_pid; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  sub_pid= redis_pid=
}
trap 'stop_redis; rm -rf "$out"; '"$lib_cleanup" EXIT

# field FILE PREFIX KEY: the value of KEY= on the line starting with "PREFIX:".
field() { sed -n "s/^$2:.* $3=\([^ ]*\).*/\1/p; s/^$2: $3=\([^ ]*\).*/\1/p" "$1" | head -1; }

echo "server: $url (pid $pid), $(nproc) cores, ulimit -n $(ulimit -n)"
if [ "${RELAY_SIGNUP:-0}" = 1 ]; then
  echo "== sign-up of $users users (argon2id: ~35 ms of server CPU each; 16 at once)"
  $relay signup --port "$port" --users "$users" --concurrency 16 --out "$out/tokens" | tee "$out/signup"
else
  echo "== $users accounts seeded into the database (bench/seed.js)"
  node bench/seed.js "$bench_data/convo.db" "$bench_data/jwt.secret" "$users" "$out/tokens" relay
fi

echo "== (c) $idle authenticated idle sockets"
$relay idle --port "$port" --tokens "$out/tokens" --sockets "$idle" --pid "$pid" | tee "$out/idle"

# ack_buckets: the server's own msg.send → msg.ack histogram (/metrics), "le count" lines.
ack_buckets() {
  curl -s "$url/metrics" | sed -n 's/^convo_ws_msg_ack_seconds_bucket{le="\([^"]*\)"} \([0-9]*\)$/\1 \2/p'
}
# settle NAME: waits (60 s at most) until the server has folded every message of the runs before
# (the /metrics gauge convo_store_unfolded_messages is 0), so that a run does not measure the
# tail of the one before it (a saturation run leaves up to ~1M rows to fold).
settle() {
  local t0 n
  t0=$(date +%s.%N)
  for _ in $(seq 600); do
    n=$(curl -s "$url/metrics" | sed -n 's/^convo_store_unfolded_messages \([0-9]*\)$/\1/p')
    [ "$n" = 0 ] && break
    sleep 0.1
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" -v n="${n:-?}" 'BEGIN { printf "%.1f s (unfolded: %s)\n", b - a, n }' >"$out/$1.settle"
  echo "settled before $1: $(cat "$out/$1.settle")"
}
run() { # name first pairs extra-args…
  local name=$1 first=$2 pairs=$3
  shift 3
  settle "$name"
  echo "== $name: relay run --pairs $pairs --duration $secs $*"
  ack_buckets >"$out/$name.acks0"
  $relay run --port "$port" --pid "$pid" --tokens "$out/tokens" --first "$first" \
    --pairs "$pairs" --duration "$secs" "$@" | tee "$out/$name"
  ack_buckets >"$out/$name.acks1"
}
first=0
run a $first "$tp_pairs" --window 32
run a2 $((first += 2 * tp_pairs)) "$sat_pairs" --window "$sat_window"
run b $((first += 2 * sat_pairs)) "$lat_pairs" --rate "$rate" --window 1000
run b2 $((first += 2 * lat_pairs)) "$lat_pairs" --rate "$low_rate" --window 1000

free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 30000))
    (: </dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

# start_redis: redis-server on a free port ($rport, $redis_pid); 0 once it answers PING. A port
# no one listens on may still be some connection's local port (the idle run's 10k sockets), which
# bind refuses: then another port is tried, five times at most.
start_redis() {
  local try
  for try in 1 2 3 4 5; do
    rport=$(free_port)
    # No output-buffer limit for the subscriber: by default Redis drops a pub/sub client that
    # falls 32 MB behind, and redis-cli does fall behind at this rate.
    redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --daemonize no \
      --client-output-buffer-limit 'pubsub 0 0 0' >"$out/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 100); do
      redis-cli -p "$rport" ping >/dev/null 2>&1 && return 0
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.05
    done
    stop_redis
    grep -q 'Address already in use' "$out/redis.log" || return 1
    echo "redis: port $rport is taken (try $try), another one"
  done
  return 1
}

redis_reference() {
  local rport payload up=0
  payload=$(printf '%064d' 0 | tr 0 x)
  start_redis && up=1
  if [ "$up" != 1 ]; then
    echo "redis-server did not start; its log:" && tail -5 "$out/redis.log"
    echo "reference skipped: redis-server did not start" >"$out/redis"
    stop_redis
    return 0
  fi
  redis-cli -p "$rport" subscribe chan >/dev/null &
  sub_pid=$!
  sleep 0.3
  echo "redis: subscribers before: $(redis-cli -p "$rport" pubsub numsub chan | tail -1)"
  timeout 300 redis-benchmark -p "$rport" -n 1000000 -P 16 -c 50 -q publish chan "$payload" |
    tr '\r' '\n' | grep 'requests per second' | tail -1 | tee "$out/redis"
  echo "redis: subscribers after: $(redis-cli -p "$rport" pubsub numsub chan | tail -1)"
  stop_redis
}

echo "== (d) Redis PUBLISH reference: redis-benchmark -n 1000000 -P 16 -c 50 publish chan <64 B>"
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  redis_reference
else
  echo "redis-server / redis-benchmark not installed: reference skipped" | tee "$out/redis"
fi

# ---- the block for docs/benchmarks.md ----
ms() { echo "p50 $(field "$1" "$2" p50), p90 $(field "$1" "$2" p90), p99 $(field "$1" "$2" p99), max $(field "$1" "$2" max) ms"; }
cpu() { echo "server $(field "$1" cpu server_cores) cores (loop thread $(field "$1" cpu server_loop_cores)), generator $(field "$1" cpu generator_cores)"; }
row_window() { # file pairs window
  echo "| $2 pairs, window $3, ${secs} s | **$(commas "$(field "$1" rates delivered_per_s)") msg/s delivered** ($(commas "$(field "$1" rates acked_per_s)") acked/s, $(commas "$(field "$1" rates sent_per_s)") sent/s); send → partner $(ms "$1" latency_ms) | $(cpu "$1") |"
}
row_rate() { # file pairs rate
  echo "| $(commas "$3") msg/s offered, $2 pairs, ${secs} s | $(commas "$(field "$1" rates delivered_per_s)") msg/s delivered; send → partner **$(ms "$1" latency_ms)**; send → ack p50 $(field "$1" ack_latency_ms p50), p99 $(field "$1" ack_latency_ms p99) ms; $(server_acks "$(basename "$1")") | $(cpu "$1") |"
}
checks() { sed -n 's/^checks: //p' "$1"; }
# server_acks NAME: the share of that run's acks the server sent within 1, 5 and 10 ms of the
# msg.send (its /metrics histogram: generator and kernel time excluded).
server_acks() {
  awk 'FNR == NR { b[$1] = $2; next } { d[$1] = $2 - b[$1] } $1 == "+Inf" { n = $2 - b[$1] }
    END { if (!n) { print "server-side histogram n/a"; exit }
          printf "server-side ack ≤ 1 ms %.1f %%, ≤ 5 ms %.2f %%, ≤ 10 ms %.2f %%",
            100 * d["0.001"] / n, 100 * d["0.005"] / n, 100 * d["0.01"] / n }' \
    "$out/$1.acks0" "$out/$1.acks1"
}
commas() { LC_ALL=C printf "%'.0f" "$1" 2>/dev/null | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
redis_rps=$(sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' "$out/redis" | head -1)
sat=$(field "$out/a2" rates delivered_per_s)
rss_b=$(field "$out/idle" idle server_rss_before_kib)
rss_a=$(field "$out/idle" idle server_rss_after_kib)
ratio=n/a
[ -n "$redis_rps" ] && ratio=$(awk -v a="$sat" -v b="$redis_rps" 'BEGIN { printf "%.1f %%", 100 * a / b }')
redis_v=$(redis-server --version 2>/dev/null | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
cat <<EOF

----- paste into docs/benchmarks.md -----
## Real-time relay (issue [rt]) — $(date -u +%Y-%m-%d)

Command: \`bash bench/relay.sh $secs $idle\` (load generator: \`bench/relay\`, C, libuv + wslay, on
the same 2 cores). Messages are 64-byte texts; "delivered" counts \`msg.new\` frames received by
the partner during the ${secs} s; latency is from the \`msg.send\` write to the partner's \`msg.new\`
(the generator timestamps each text). Each socket is paced by the generator at 19 frames/s,
burst 20: the server allows 20 frames/s, burst 40, per socket (SPEC §4).

| what | measured | CPU during the run |
| --- | --- | --- |
$(row_window "$out/a" "$tp_pairs" 32)
$(row_window "$out/a2" "$sat_pairs" "$sat_window")
$(row_rate "$out/b" "$lat_pairs" "$rate")
$(row_rate "$out/b2" "$lat_pairs" "$low_rate")
| $(commas "$idle") authenticated idle WebSockets | server RSS $((rss_b / 1024)) → $((rss_a / 1024)) MiB: **$(commas "$(field "$out/idle" idle per_socket_bytes)") bytes per socket** (connected in $(field "$out/idle" idle connect_s) s) | |
| Redis ${redis_v:-?} \`PUBLISH\` to 1 subscriber, 64 B (\`redis-benchmark -P 16 -c 50\`) | $(commas "${redis_rps:-0}") publishes/s; CONVO's saturated relay rate is $ratio of it | |

Each run starts once the server has folded every message of the runs before it (waits:
$(for r in a a2 b b2; do printf '%s %s; ' "$r" "$(cat "$out/$r.settle")"; done))

Checks per run (acked but not delivered to the partner, seq gaps or reordering, errors, closes):
$(for r in a a2 b b2; do printf -- '- %s: %s\n' "$r" "$(checks "$out/$r")"; done)
-----------------------------------------
EOF
