#!/usr/bin/env bash
# The demo: a private redis-server, a development CA, the payment sandbox
# (voxcart-paysim, with the demo merchant's key registered), voxcartd on loopback
# over HTTPS with the sample coffee-shop merchant pointed at the sandbox, and one
# signed LaunchRequest.
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
  for f in voxcartd paysim redis; do
    if [ -f "$D/$f.pid" ] && kill -0 "$(cat "$D/$f.pid")" 2>/dev/null; then
      kill "$(cat "$D/$f.pid")" && echo "stopped $f (pid $(cat "$D/$f.pid"))"
    fi
    rm -f "$D/$f.pid"
  done
}

# The payment sandbox over HTTPS with the demo CA, its state in .demo/, and the demo
# merchant's public key registered (the key pair is made once).
start_paysim() {
  local port out
  port=$(pick_port 8471)
  [ -f "$D/merchant.key" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$D/merchant.key" 2>/dev/null
  openssl pkey -in "$D/merchant.key" -pubout -out "$D/merchant.pub" 2>/dev/null
  nohup "$BIN/voxcart-paysim" --devca "$D/ca" --tls-port "$port" --state "$D/paysim.json" \
    >"$D/paysim.out" 2>"$D/paysim.log" &
  echo $! >"$D/paysim.pid"
  for _ in $(seq 1 100); do
    out=$(sed -n 's|^paysim: listening on \(https://.*\)$|\1|p' "$D/paysim.out")
    [ -n "$out" ] && break
    sleep 0.05
  done
  [ -n "$out" ] || { echo "demo: voxcart-paysim did not start:" >&2; cat "$D/paysim.log" >&2; exit 1; }
  PAYSIM_URL=$out
  curl -sf --cacert "$D/ca/root.pem" -X POST -H 'content-type: application/json' \
    --data-binary "$(jq -n --rawfile p "$D/merchant.pub" \
      '{merchantId:"demo-merchant", publicKeyId:"demo-merchant-key", publicKeyPem:$p}')" \
    "$PAYSIM_URL/_sim/merchants" >/dev/null ||
    curl -sf --cacert "$D/ca/root.pem" "$PAYSIM_URL/_sim/merchants" | grep -q demo-merchant-key ||
    { echo "demo: cannot register the demo merchant with the sandbox" >&2; exit 1; }
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
  start_paysim
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
  "payments": "off",
  "provider": {"url": "$PAYSIM_URL/sandbox/v2", "key_id": "demo-merchant-key",
               "private_key": "$D/merchant.key", "ca_file": "$D/ca/root.pem"},
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
  echo "== the payment sandbox is on $PAYSIM_URL (merchant demo-merchant, key demo-merchant-key)"
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
   curl --cacert $D/ca/root.pem $PAYSIM_URL/_sim/charges      (the sandbox's ledger; see README)
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
