#!/usr/bin/env bash
# Starts nexus-auth, nexusd and nexus-api with embedded defaults (or the
# NEXUS_* environment), prints how to use them, and stops all three on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
export NEXUS_DATA_DIR="${NEXUS_DATA_DIR:-./var}"
LISTEN="${NEXUS_GATEWAY_LISTEN:-127.0.0.1:8080}"
mkdir -p -m 700 "$NEXUS_DATA_DIR"  # private from the start (nexusd tightens an older one)

pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  echo "nexus: stopped"
}
trap stop INT TERM EXIT

"$BUILD_DIR/src/auth/nexus-auth" "$@" & pids+=($!)
"$BUILD_DIR/src/daemon/nexusd" "$@" & pids+=($!)
"$BUILD_DIR/src/gateway/nexus-api" "$@" & pids+=($!)

outbox="${NEXUS_MAIL_OUTBOX_DIR:-$NEXUS_DATA_DIR/mail/outbox}"
cat <<MSG

  Nexus is starting on http://$LISTEN
  Data directory: $NEXUS_DATA_DIR
  Mail: ${NEXUS_MAIL_SMTP_URL:-written to $outbox (one .eml file per message)}

  Register:
    curl -s http://$LISTEN/auth/register/init -H 'Content-Type: application/json' \\
      -d '{"Username":"alice","Password":"hunter2","Email":"alice@example.com"}'
    # the 6-digit code is in the newest file of $outbox
    curl -s http://$LISTEN/auth/register/verify -H 'Content-Type: application/json' \\
      -d '{"Email":"alice@example.com","Code":"123456"}'

  Ctrl-C stops all three services.

MSG
# Any service exiting ends the whole group.
wait -n "${pids[@]}" || true
