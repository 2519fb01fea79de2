# lib.sh — sourced by the bench scripts: starts build/convo (or $CONVO_BIN) on a free loopback
# port with a fresh data dir, sets $url and $pid, and stops it (and cleans up) when the script
# exits. Extra environment for the server can be passed as arguments: start_server VAR=value …
start_server() {
  bench_bin=${CONVO_BIN:-build/convo}
  bench_data=$(mktemp -d)
  bench_out=$(mktemp)
  env CONVO_LISTEN=127.0.0.1:0 CONVO_DATA_DIR="$bench_data" CONVO_LOG=warn "$@" "$bench_bin" \
    >"$bench_out" &
  pid=$!
  trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$bench_data" "$bench_out"' EXIT
  for _ in $(seq 100); do grep -q listening "$bench_out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$bench_out")
  [ -n "$url" ] || { echo "the server did not start" >&2; exit 1; }
}
