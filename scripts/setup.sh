#!/usr/bin/env bash
# Installs what the build and the tests need, each step skipped when the right
# version is already there. Usage: scripts/setup.sh [--browser]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

locked_version() { # the version of crate $1 in Cargo.lock
  awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

tool_version() { # the first x.y.z that `$1 --version` prints, or nothing
  "$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

want_bindgen=$(locked_version wasm-bindgen)
if [ "$(tool_version wasm-bindgen)" != "$want_bindgen" ]; then
  step "cargo install wasm-bindgen-cli $want_bindgen (a few minutes, once)"
  # Not --locked: its own lockfile names a webpki-roots version the registry lacks.
  cargo install wasm-bindgen-cli --version "$want_bindgen" --force
fi

want_worker_build=$(locked_version worker)
if [ "$(tool_version worker-build)" != "$want_worker_build" ]; then
  step "cargo install worker-build $want_worker_build (several minutes, once)"
  cargo install worker-build --version "$want_worker_build" --locked --force
fi

# The CLI that splits the app's wasm at its #[wasm_split] points; its version goes with the
# wasm_split_helpers runtime that Leptos links (Cargo.lock).
want_split=$(locked_version wasm_split_helpers)
# (It has no --version: a stamp next to it records the installed one.)
if ! command -v wasm-split-cli >/dev/null || \
   [ "$(cat "$HOME/.cargo/.wasm-split-cli-version" 2>/dev/null)" != "$want_split" ]; then
  step "cargo install wasm_split_cli_support $want_split (a minute, once)"
  cargo install wasm_split_cli_support --version "$want_split" --features build-binary --locked --force
  echo "$want_split" > "$HOME/.cargo/.wasm-split-cli-version"
fi

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.setup-stamp 2>/dev/null)" != "$lock_sum" ]; then
  step "npm ci (wrangler, Node 22, binaryen)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.setup-stamp
fi

if [ "${1:-}" = "--browser" ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    step "apt-get install chromium chromium-driver"
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium chromium-driver
  fi
fi
