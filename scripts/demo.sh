#!/usr/bin/env bash
# The demo: a private redis-server, a development CA, voxcartd on loopback over
# HTTPS with the sample coffee-shop merchant, and one signed LaunchRequest.
# Everything lives in .demo/ and keeps running until `make demo-stop`.
# VX_DEMO_DIR and VX_DEMO_BUILD put it elsewhere and take other binaries (tests).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
D=${VX_DEMO_DIR:-$ROOT/.demo}
BIN=${VX_DEMO_BUILD:-$ROOT/build}
SKILL_ID=amzn1.ask.skill.voxcart-demo

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { # preferred port, else a free one
  local p=$1
  port_free "$p" && { echo "$p"; return; }
  for _ in $(seq 1 100); do p=$((20000 + RANDOM % 40000)); port_free "$p" && { echo "$p"; return; }; done
  echo "demo: no free port" >&2; exit 1
}

stop() {
  local f
  for f in voxcartd redis; do
    if [ -f "$D/$f.pid" ] && kill -0 "$(cat "$D/$f.pid")" 2>/dev/null; then
      kill "$(cat "$D/$f.pid")" && echo "stopped $f (pid $(cat "$D/$f.pid"))"
    fi
    rm -f "$D/$f.pid"
  done
}

start() {
  mkdir -p "$D"
  stop >/dev/null 2>&1 || true
  "$BIN/voxcart" devca --dir "$D/ca" >/dev/null
  REDIS_PORT=$(pick_port 6390)
  VX_PORT=$(pick_port 8443)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$D" --appendonly yes \
    --appendfsync everysec --save '' --daemonize yes --pidfile "$D/redis.pid" \
    --logfile "$D/redis.log"
  for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
  cat >"$D/voxcart.json" <<JSON
{
  "listen": {"address": "127.0.0.1", "port": $VX_PORT},
  "tls": {"cert": "$D/ca/server.pem", "key": "$D/ca/server.key"},
  "redis": {"url": "redis://127.0.0.1:$REDIS_PORT/0"},
  "verify": {
    "skill_ids": ["$SKILL_ID"],
    "ca_file": "$D/ca/root.pem",
    "cert_map": {"https://s3.amazonaws.com/echo.api/echo-api-cert-dev.pem": "$D/ca/chain.pem"}
  },
  "log": {"level": "info"}
}
JSON
  nohup "$BIN/voxcartd" -c "$D/voxcart.json" >"$D/voxcartd.log" 2>&1 &
  echo $! >"$D/voxcartd.pid"
  for _ in $(seq 1 100); do
    curl -sf --cacert "$D/ca/root.pem" "https://127.0.0.1:$VX_PORT/healthz" >/dev/null && break
    sleep 0.05
  done
  if ! curl -sf --cacert "$D/ca/root.pem" "https://127.0.0.1:$VX_PORT/readyz" >/dev/null; then
    echo "demo: voxcartd did not become ready; its log:" >&2; cat "$D/voxcartd.log" >&2; exit 1
  fi
  echo "== voxcartd is listening on https://127.0.0.1:$VX_PORT (redis on 127.0.0.1:$REDIS_PORT)"
  echo "== sending a signed LaunchRequest:"
  "$BIN/voxcart" sign --dir "$D/ca" --restamp --url "https://127.0.0.1:$VX_PORT/alexa" \
    scripts/demo/launch.json
  echo
  cat <<TXT

== voxcartd keeps running. Try:
   $BIN/voxcart sign --dir $D/ca --restamp --url https://127.0.0.1:$VX_PORT/alexa scripts/demo/order.json
   $BIN/voxcart sign --dir $D/ca --restamp --url https://127.0.0.1:$VX_PORT/alexa scripts/demo/yes.json
   $BIN/voxcart replay -v --dir $D/ca --url https://127.0.0.1:$VX_PORT/alexa \\
       --redis redis://127.0.0.1:$REDIS_PORT/0 --skill-id $SKILL_ID tests/fixtures/ordering
   curl --cacert $D/ca/root.pem https://127.0.0.1:$VX_PORT/metrics
   tail -f $D/voxcartd.log
   configuration: $D/voxcart.json   skill ID: $SKILL_ID
== stop everything with: make demo-stop
TXT
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
