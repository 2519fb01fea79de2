#!/usr/bin/env bash
# test.sh — the whole suite, run by `make test` after both builds: unit tests (cmocka under CTest),
# end-to-end tests (node --test) and, when tests/browser/ holds *.test.js files, the browser tests
# (headless Chromium through playwright-core), all against the ASan+UBSan build, where a
# sanitizer report or a leak fails the test that caused it. Ends with one line:
# "total: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0
failed=0
status=0

echo "== unit tests (CTest, ASan+UBSan build)"
(cd build-asan && ctest --output-on-failure -j "$(nproc)") 2>&1 | tee "$logs/unit"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
unit_total=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\2/p' "$logs/unit" | tail -1)
unit_failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of.*/\1/p' "$logs/unit" | tail -1)
unit_failed=${unit_failed:-1} # no summary line: count one failure
unit_total=${unit_total:-$unit_failed}
passed=$((passed + unit_total - unit_failed))
failed=$((failed + unit_failed))

# node_suite NAME CONCURRENCY PATH…: runs node --test (TAP) on the ASan build and adds its
# "# pass N" / "# fail N" counts to the totals (a missing count is one failure).
node_suite() {
  local name=$1 concurrency=$2
  shift 2
  CONVO_BIN="$PWD/build-asan/convo" node --test --test-concurrency="$concurrency" \
    --test-reporter=tap "$@" 2>&1 | tee "$logs/$name"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  local pass fail
  pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$logs/$name" | tail -1)
  fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$logs/$name" | tail -1)
  passed=$((passed + ${pass:-0}))
  failed=$((failed + ${fail:-1}))
}

echo "== end-to-end tests (node --test, ASan+UBSan build)"
node_suite e2e 6 tests/e2e/

# Browser tests: one or two at a time (each runs a server and a Chromium on 2 cores).
browser_tests=(tests/browser/*.test.js)
if [ -e "${browser_tests[0]}" ]; then
  echo "== browser tests (node --test, headless Chromium, ASan+UBSan build)"
  node_suite browser 1 "${browser_tests[@]}"
else
  echo "== browser tests: none (no tests/browser/*.test.js)"
fi

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
