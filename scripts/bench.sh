#!/usr/bin/env bash
# Measures the product's performance claims side by side and writes BENCHMARKS.md:
# next fire against saffron, cron, croner and ClearML SDK's ScheduleJob; impossible schedules;
# the tick natively and in workerd at 1k/10k/100k rows; a pile-up of 100 and 1,000 slots due in
# one minute against ClearML SDK's launch path; the app's size (next to a minimal Leptos app),
# its time to interactive and its live preview's latency;
# memory against ClearML SDK's TaskScheduler. About 10-15 minutes on 2 cores from a fresh clone
# (most of it compiling). Figures land in target/bench/, the report in BENCHMARKS.md.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
START=$(date +%s)
OUT=target/bench
CLEARML_VERSION=2.1.12

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { echo "FAIL: $*"; exit 1; }

bash scripts/setup.sh --browser || fail "setup"
bash scripts/build.sh || fail "build of the app and the worker"
rm -rf "$OUT" && mkdir -p "$OUT"

step "next fire and impossible schedules: ours, saffron, cron, croner (release build)"
BENCH_JSON="$ROOT/$OUT/peers.json" cargo bench -q -p scheduler-core --bench peers || fail "peers bench"

step "the tick's CPU, natively"
BENCH_JSON="$ROOT/$OUT/tick_native.json" cargo bench -q -p scheduler-core --bench tick \
  | tee "$OUT/tick_native.txt" || fail "tick bench"

step "memory for 100k rows (counting allocator, native proxy)"
BENCH_JSON="$ROOT/$OUT/memory.json" cargo bench -q -p scheduler-core --bench memory || fail "memory bench"

step "ClearML SDK $CLEARML_VERSION (Python venv in target/sdk-venv, shared with tests/standin_sdk.rs)"
VENV=target/sdk-venv
if [ ! -f "$VENV/.clearml-$CLEARML_VERSION-installed" ] || [ ! -x "$VENV/bin/python" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV" || fail "python3 -m venv"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet "clearml==$CLEARML_VERSION" \
    || fail "pip install clearml==$CLEARML_VERSION"
  echo "$CLEARML_VERSION" > "$VENV/.clearml-$CLEARML_VERSION-installed"
fi
mkdir -p target/sdk-home
HOME="$ROOT/target/sdk-home" "$VENV/bin/python" tests/bench/clearml_sdk.py "$OUT/sdk.json" \
  || fail "ClearML SDK bench"

step "the tick compiled to wasm32 in workerd, 1k/10k/100k rows"
cargo test -q -p scheduler-e2e --test tick_bench -- --ignored --nocapture --test-threads=1 \
  | tee "$OUT/workerd_tick.txt" || fail "tick bench in workerd"

step "pile-up: 100 and 1,000 slots due in one minute, ClearML answering after 50 ms; SDK peer"
cargo test -q -p scheduler-e2e --test pileup_bench -- --ignored --nocapture --test-threads=1 \
  | tee "$OUT/pileup.txt" || fail "pile-up bench"

step "the app: sizes, next to a minimal Leptos + serde_json app built the same way"
# The floor of the stack (tests/bench/leptos-floor): the app's profile, flags and wasm-opt.
RUSTFLAGS="--cfg erase_components" \
  cargo build -p leptos-floor --profile app-release --target wasm32-unknown-unknown --quiet \
  || fail "build of the Leptos floor app"
mkdir -p "$OUT/floor"
wasm-bindgen --target web --no-typescript --out-dir "$OUT/floor" --out-name floor \
  target/wasm32-unknown-unknown/app-release/leptos_floor.wasm || fail "wasm-bindgen of the floor app"
"$WASM_OPT_BIN" -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int \
  "$OUT/floor/floor_bg.wasm" -o "$OUT/floor/floor_bg.wasm" || fail "wasm-opt of the floor app"
python3 tests/bench/report.py sizes "$OUT/sizes.json" public/pkg/app_bg.wasm public/pkg/app.js \
  public/pkg/__wasm_split.js public/pkg/split_*.wasm \
  "$OUT/floor/floor_bg.wasm" worker/build/index_bg.wasm worker/build/index.js

step "the app: live preview, keystroke to preview, against the /api/preview round trip"
cargo test -q -p scheduler-e2e --test app_preview -- --ignored --nocapture --test-threads=1 2>&1 \
  | tee "$OUT/app_preview.log"
grep -E '^preview benchmark:' "$OUT/app_preview.log" > "$OUT/app_preview.txt" || true

step "the app: 1,000-row dashboard in headless Chromium"
if [ -f tests/tests/app_bench.rs ]; then
  cargo test -q -p scheduler-e2e --test app_bench -- --nocapture --test-threads=1 2>&1 \
    | tee "$OUT/app_bench.log"
  grep -E '^dashboard benchmark:' "$OUT/app_bench.log" > "$OUT/app_bench.txt" || true
else
  echo "tests/tests/app_bench.rs is missing: no browser figure" | tee "$OUT/app_bench.txt"
fi

step "writing BENCHMARKS.md"
python3 tests/bench/report.py bench "$OUT" BENCHMARKS.md "scripts/bench.sh" $(( $(date +%s) - START )) \
  || fail "report"
echo
echo "BENCHMARKS.md written in $(( ($(date +%s) - START) / 60 )) min $(( ($(date +%s) - START) % 60 )) s"
