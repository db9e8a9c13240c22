#!/usr/bin/env bash
# Runs the product locally: the worker under workerd (wrangler dev, local mode,
# KV persisted in .state/), a ClearML stand-in on loopback unless
# CLEARML_API_HOST is set, and a cron that fires the scheduled handler every
# minute the way Cloudflare does. Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
PORT="${PORT:-8787}"

bash scripts/setup.sh
bash scripts/build.sh

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  exit 0
}
trap cleanup EXIT INT TERM

# The admin token: made once, kept in .dev.vars (git-ignored) as a worker secret.
if ! grep -q '^ADMIN_TOKEN=' .dev.vars 2>/dev/null; then
  echo "ADMIN_TOKEN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >> .dev.vars
fi
ADMIN_TOKEN=$(grep '^ADMIN_TOKEN=' .dev.vars | cut -d= -f2-)

vars=()
if [ -z "${CLEARML_API_HOST:-}" ]; then
  echo "==> starting the ClearML stand-in on loopback"
  cargo build -q -p scheduler-e2e --bin clearml-standin
  mkdir -p .state
  setsid target/debug/clearml-standin --port 0 > .state/standin.log 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q 'listening on' .state/standin.log && break; sleep 0.1; done
  CLEARML_API_HOST=$(grep -o 'listening on http://[0-9.:]*' .state/standin.log | head -1 | cut -d' ' -f3)
  [ -n "$CLEARML_API_HOST" ] || { cat .state/standin.log; echo "the stand-in did not start"; exit 1; }
  CLEARML_API_ACCESS_KEY=$(grep -o 'access key [^ ]*' .state/standin.log | head -1 | cut -d' ' -f3)
  CLEARML_API_SECRET_KEY=$(grep -o 'secret key [^ ]*' .state/standin.log | head -1 | cut -d' ' -f3)
  CLEARML_WEB_HOST="$CLEARML_API_HOST"
fi
for name in CLEARML_API_HOST CLEARML_API_ACCESS_KEY CLEARML_API_SECRET_KEY CLEARML_WEB_HOST; do
  [ -n "${!name:-}" ] && vars+=(--var "$name:${!name}")
done

echo "==> starting the worker under workerd on http://127.0.0.1:$PORT"
mkdir -p .state/kv
setsid wrangler dev --local --test-scheduled --ip 127.0.0.1 --port "$PORT" \
  --persist-to .state/kv --show-interactive-dev-session=false "${vars[@]}" \
  > .state/wrangler.log 2>&1 &
pids+=($!)
for _ in $(seq 240); do
  curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null || { tail -40 .state/wrangler.log; exit 1; }

cat <<MSG

  Open:        http://127.0.0.1:$PORT/
  Admin token: $ADMIN_TOKEN
  ClearML:     ${CLEARML_API_HOST}
  Logs:        .state/wrangler.log, .state/standin.log

The scheduled handler runs at the start of every minute (Ctrl-C to stop).
MSG

# wrangler dev fires no cron by itself: do what Cloudflare does, once a minute,
# with the event's scheduled time set to the minute.
while true; do
  now=$(date +%s)
  # In the background and waited for, so Ctrl-C stops everything at once.
  sleep $((60 - now % 60)) &
  wait $!
  minute_ms=$(( $(date +%s) / 60 * 60 * 1000 ))
  if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time=$minute_ms"; then
    echo "$(date -u +%FT%TZ) scheduled event sent"
  else
    echo "$(date -u +%FT%TZ) scheduled event failed (see .state/wrangler.log)"
  fi
done
