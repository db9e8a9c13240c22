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
  echo "==> building the app (wasm32, release, split)"
  # erase_components: Leptos type-erases component views, a smaller binary for the same app.
  # --emit-relocs: wasm-split-cli needs the linker's relocations to cut the binary apart.
  RUSTFLAGS="--cfg erase_components -Clink-args=--emit-relocs" \
    cargo build -p scheduler-app --profile app-release --target wasm32-unknown-unknown --quiet
  # The editor (the form, with the core's validation, preview and zones) is a chunk of its own
  # (`editor_page` in app/src/lib.rs): wasm-split-cli cuts it out of the linked binary into
  # split_editor.wasm plus __wasm_split.js, its loader; the main module goes through wasm-bindgen.
  split=target/wasm-split && rm -rf "$split"
  wasm-split-cli target/wasm32-unknown-unknown/app-release/scheduler_app.wasm "$split"
  rm -rf public/pkg && mkdir -p public/pkg
  wasm-bindgen --target web --no-typescript --keep-lld-exports --out-dir public/pkg --out-name app \
    "$split/main.wasm"
  # The loader imports the main module's bindings by the CLI's default name (main.js); ours is app.js.
  grep -q 'from "./main.js"' "$split/__wasm_split.js" \
    || { echo "wasm-split-cli's loader no longer imports ./main.js: update scripts/build.sh" >&2; exit 1; }
  sed 's#from "./main.js"#from "./app.js"#' "$split/__wasm_split.js" > public/pkg/__wasm_split.js
  cp "$split"/split_*.wasm public/pkg/
  for wasm in public/pkg/*.wasm; do
    "$WASM_OPT_BIN" -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int \
      "$wasm" -o "$wasm"
  done
  echo "$app_sum" > public/pkg/.build-stamp
fi

worker_inputs=(worker shared Cargo.toml Cargo.lock)
worker_sum=$( { fingerprint "${worker_inputs[@]}"; sha256sum "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-64)
if [ "$(cat worker/build/.build-stamp 2>/dev/null)" != "$worker_sum" ] || [ ! -f worker/build/worker/shim.mjs ]; then
  echo "==> building the worker (worker-build --release)"
  (cd worker && worker-build --release)
  echo "$worker_sum" > worker/build/.build-stamp
fi
