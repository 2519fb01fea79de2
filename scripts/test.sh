#!/usr/bin/env bash
# test.sh — the whole suite, run by `make test` after both builds: unit tests (cmocka under CTest)
# and end-to-end tests (node --test) against the ASan+UBSan build, where a sanitizer report or a
# leak fails the test that caused it. Ends with one line: "total: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

echo "== unit tests (CTest, ASan+UBSan build)"
(cd build-asan && ctest --output-on-failure -j "$(nproc)") 2>&1 | tee "$logs/unit"
unit_rc=${PIPESTATUS[0]}
unit_total=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\2/p' "$logs/unit" | tail -1)
unit_failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of.*/\1/p' "$logs/unit" | tail -1)
unit_total=${unit_total:-0}
unit_failed=${unit_failed:-1}

echo "== end-to-end tests (node --test, ASan+UBSan build)"
CONVO_BIN="$PWD/build-asan/convo" node --test --test-concurrency=6 --test-reporter=tap tests/e2e/ 2>&1 | tee "$logs/e2e"
e2e_rc=${PIPESTATUS[0]}
e2e_pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$logs/e2e" | tail -1)
e2e_fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$logs/e2e" | tail -1)
e2e_pass=${e2e_pass:-0}
e2e_fail=${e2e_fail:-1}

passed=$((unit_total - unit_failed + e2e_pass))
failed=$((unit_failed + e2e_fail))
if [ "$unit_rc" -ne 0 ] || [ "$e2e_rc" -ne 0 ]; then
  [ "$failed" -gt 0 ] || failed=1
fi
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
