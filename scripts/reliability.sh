#!/usr/bin/env bash
# Measures the product's reliability claims and writes RELIABILITY.md: a one-day soak in workerd
# under ClearML faults with a kill and restart, bounded fuzzing of the parsers and the API, and
# the security tests' figures. About 12-18 minutes on 2 cores from a fresh clone.
# FUZZ_SECONDS (default 60) is the time per fuzz target; SOAK_MINUTES (default 1440) the day.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
START=$(date +%s)
OUT=target/reliability
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
status=0

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { echo "FAIL: $*"; exit 1; }

bash scripts/setup.sh || fail "setup"
bash scripts/build.sh || fail "build of the app and the worker"
rm -rf "$OUT" && mkdir -p "$OUT"

step "compiling the soak, the fuzzer and the security tests"
cargo test --no-run -q -p scheduler-e2e --test soak --test api_endpoints --test fuzz_regressions \
  || fail "build of the tests"
cargo build -q -p scheduler-e2e --bin fuzz || fail "build of the fuzzer"

step "soak: one simulated day, 50 instances, 300 tasks, 20% ClearML faults, a kill and restart"
cargo test -q -p scheduler-e2e --test soak -- --ignored --nocapture 2>&1 | tee "$OUT/soak.log"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "the soak FAILED (figures still reported)"; status=1; }

step "fuzzing the configuration parser, the cron parser and next fire (${FUZZ_SECONDS} s each)"
target/debug/fuzz core --seconds "$FUZZ_SECONDS" --out "$OUT/fuzz-core.json" \
  || { echo "fuzz core FAILED"; status=1; }

step "fuzzing the API's request decoding in workerd (${FUZZ_SECONDS} s in all)"
target/debug/fuzz api --seconds "$FUZZ_SECONDS" --out "$OUT/fuzz-api.json" \
  || { echo "fuzz api FAILED"; status=1; }

step "replaying saved fuzz crashes (tests/fuzz-regressions)"
cargo test -q -p scheduler-e2e --test fuzz_regressions 2>&1 | tee "$OUT/fuzz_regressions.txt"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

step "security: auth table, share token scope, secret scan"
cargo test -q -p scheduler-e2e --test api_endpoints -- --nocapture --test-threads=1 2>&1 \
  | tee "$OUT/security.txt"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "security tests FAILED"; status=1; }

step "writing RELIABILITY.md"
python3 tests/bench/report.py reliability "$OUT" RELIABILITY.md "scripts/reliability.sh" \
  $(( $(date +%s) - START )) || fail "report"
echo
echo "RELIABILITY.md written in $(( ($(date +%s) - START) / 60 )) min $(( ($(date +%s) - START) % 60 )) s"
[ "$status" = 0 ] && echo "PASS" || echo "FAIL: see above"
exit "$status"
