#!/usr/bin/env bash
# Builds the app (into public/pkg) and the worker (into worker/build), each
# skipped when none of its inputs changed since the last build. wrangler runs
# this as its build command, so `wrangler dev` and `wrangler deploy` use it too.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
# wrangler runs this at every start; parallel test workers must not build over each other.
mkdir -p target && exec 9>target/.build.lock && flock 9

fingerprint() { # a hash of the named files and folders' contents
  find "$@" -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.lock' \) -print0 2>/dev/null \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

app_inputs=(app shared Cargo.toml Cargo.lock)
# The build's own commands (this file) count as an input too.
app_sum=$( { fingerprint "${app_inputs[@]}"; sha256sum "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-64)
if [ "$(cat public/pkg/.build-stamp 2>/dev/null)" != "$app_sum" ] || [ ! -f public/pkg/app_bg.wasm ]; then
  echo "==> building the app (wasm32, release)"
  # erase_components: Leptos type-erases component views, a smaller binary for the same app.
  RUSTFLAGS="--cfg erase_components" \
    cargo build -p scheduler-app --profile app-release --target wasm32-unknown-unknown --quiet
  rm -rf public/pkg && mkdir -p public/pkg
  wasm-bindgen --target web --no-typescript --out-dir public/pkg --out-name app \
    target/wasm32-unknown-unknown/app-release/scheduler_app.wasm
  "$WASM_OPT_BIN" -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int \
    public/pkg/app_bg.wasm -o public/pkg/app_bg.wasm
  echo "$app_sum" > public/pkg/.build-stamp
fi

worker_inputs=(worker shared Cargo.toml Cargo.lock)
worker_sum=$( { fingerprint "${worker_inputs[@]}"; sha256sum "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-64)
if [ "$(cat worker/build/.build-stamp 2>/dev/null)" != "$worker_sum" ] || [ ! -f worker/build/worker/shim.mjs ]; then
  echo "==> building the worker (worker-build --release)"
  (cd worker && worker-build --release)
  echo "$worker_sum" > worker/build/.build-stamp
fi
