#!/usr/bin/env bash
# Runs every test: the core natively, the worker in workerd end to end against
# the ClearML stand-in, and the app in headless Chromium. Ends with PASS or FAIL.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

fail() { echo; echo "FAIL: $*"; exit 1; }

cargo fmt --all --check || fail "formatting: run cargo fmt --all"
bash scripts/setup.sh --browser || fail "setup"
bash scripts/build.sh || fail "build of the app and the worker"
cargo build -p scheduler-core --target wasm32-unknown-unknown --quiet || fail "shared/ for wasm32"
# The app's own unit tests run natively (its pure parts: JSON, HTML rows, formatting).
cargo test -p scheduler-app --lib --quiet || fail "the app's unit tests"
cargo test --no-fail-fast 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || fail "cargo test (see above; worker logs in target/e2e-logs/)"
echo
echo "PASS: all tests passed"
