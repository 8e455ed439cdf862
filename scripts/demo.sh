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
      --arg u "https://127.0.0.1:$VX_PORT/provider/notifications" \
      '{merchantId:"demo-merchant", publicKeyId:"demo-merchant-key", publicKeyPem:$p, notifyUrl:$u}')" \
    "$PAYSIM_URL/_sim/merchants" >/dev/null ||
    curl -sf --cacert "$D/ca/root.pem" "$PAYSIM_URL/_sim/merchants" | grep -q demo-merchant-key ||
    { echo "demo: cannot register the demo merchant with the sandbox" >&2; exit 1; }
  # the public key the sandbox signs its notifications with, for voxcartd to check them
  curl -sf --cacert "$D/ca/root.pem" "$PAYSIM_URL/_sim/notify-key" >"$D/paysim-notify.pem" ||
    { echo "demo: cannot read the sandbox's notification key" >&2; exit 1; }
}

start() {
  mkdir -p "$D"
  stop >/dev/null 2>&1 || true
  "$BIN/voxcart" devca --dir "$D/ca" >/dev/null
  [ -f "$D/jwt.secret" ] || openssl rand -hex 32 >"$D/jwt.secret"
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
  "payments": "provider",
  "janitor": {"interval_ms": 1000},
  "biller": {"interval_ms": 1000, "settle_s": 2},
  "merchant": {"jwt_key": "$D/jwt.secret"},
  "provider": {"url": "$PAYSIM_URL/sandbox/v2", "key_id": "demo-merchant-key",
               "private_key": "$D/merchant.key", "ca_file": "$D/ca/root.pem",
               "notify_key": "$D/paysim-notify.pem"},
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
  local sign="$BIN/voxcart sign --dir $D/ca --restamp --url https://127.0.0.1:$VX_PORT/alexa"
  echo "== sending a signed LaunchRequest:"
  $sign scripts/demo/launch.json
  echo
  purchase
  subscription
  voice_subscription
  cat <<TXT

== voxcartd keeps running. Try:
   $BIN/voxcart sign --dir $D/ca --restamp --url https://127.0.0.1:$VX_PORT/alexa scripts/demo/order.json
   $BIN/voxcart sign --dir $D/ca --restamp --url https://127.0.0.1:$VX_PORT/alexa scripts/demo/yes.json
   $BIN/voxcart sign --dir $D/ca --restamp --url https://127.0.0.1:$VX_PORT/alexa scripts/demo/subscriptions.json
   $BIN/voxcart replay -v --dir $D/ca --url https://127.0.0.1:$VX_PORT/alexa \\
       --redis redis://127.0.0.1:$REDIS_PORT/0 --skill-id $SKILL_ID tests/fixtures/launch
   curl --cacert $D/ca/root.pem https://127.0.0.1:$VX_PORT/metrics
   curl --cacert $D/ca/root.pem -H "Authorization: Bearer \$($BIN/voxcart token --key $D/jwt.secret --merchant demo)" \\
       https://127.0.0.1:$VX_PORT/v1/shops/corner_coffee/subscriptions     (the merchant API)
   curl --cacert $D/ca/root.pem $PAYSIM_URL/_sim/charges      (the sandbox's ledger; see README)
   tail -f $D/voxcartd.log
   configuration: $D/voxcart.json   skill ID: $SKILL_ID
== stop everything with: make demo-stop
TXT
}

# A whole purchase: the order, the summary, yes. A customer without a saved agreement gets a pay
# link; the demo approves it in the sandbox as the customer would on the page, the janitor
# completes it (the charge), and the second order is charged in the turn.
purchase() {
  local n0 n session
  # each turn its own request ID, as the platform sends them (the order number derives from it)
  fresh() {
    sed "s/\"requestId\":\"[^\"]*\"/\"requestId\":\"amzn1.echo-api.request.demo-$(date +%s%N)\"/" "$1" >"$D/turn.json"
    echo "$D/turn.json"
  }
  n0=$(curl -s --cacert "$D/ca/root.pem" "$PAYSIM_URL/_sim/charges?merchantId=demo-merchant" | jq '.charges | length')
  for round in 1 2; do
    echo "== order $round: \"two large lattes\""
    $sign "$(fresh scripts/demo/order.json)" | jq -r '.response.outputSpeech.ssml'
    echo "== \"yes\""
    $sign "$(fresh scripts/demo/yes.json)" | tee "$D/yes.out" | jq -r '.response.outputSpeech.ssml, (.response.card.content // empty)'
    session=$(sed -n 's|.*/checkout/\([A-Za-z0-9-]*\).*|\1|p' "$D/yes.out" | head -n 1)
    if [ -n "$session" ]; then
      echo "== the customer opens the link and approves (the demo does it in the sandbox as buyer-alice)"
      curl -s --cacert "$D/ca/root.pem" -X POST -H 'content-type: application/json' \
        --data '{"buyerId":"buyer-alice","instrument":"card-ok"}' \
        "$PAYSIM_URL/_sim/checkoutSessions/$session/approve" >/dev/null
      for _ in $(seq 1 100); do
        n=$(curl -s --cacert "$D/ca/root.pem" "$PAYSIM_URL/_sim/charges?merchantId=demo-merchant" | jq '.charges | length')
        [ "$n" -gt "$n0" ] && break
        sleep 0.1
      done
      echo "== the janitor completed the pay link: charges at the sandbox: $n (the permission is saved; the next yes charges at once)"
    fi
  done
  n=$(curl -s --cacert "$D/ca/root.pem" "$PAYSIM_URL/_sim/charges?merchantId=demo-merchant" | jq '.charges | length')
  echo "== charges at the sandbox now: $n"
}

# A subscription: the merchant (the API, with a development token) makes a monthly plan and
# subscribes the demo customer with the charge permission the pay link saved; the recurring
# biller charges its first cycle at its next pass.
subscription() {
  local tok api sub perm paid=0
  tok=$("$BIN/voxcart" token --key "$D/jwt.secret" --merchant demo)
  api() { # api METHOD PATH [BODY]
    curl -s --cacert "$D/ca/root.pem" -X "$1" -H "Authorization: Bearer $tok" \
      ${3:+-H 'content-type: application/json' -H "Idempotency-Key: demo-$(date +%s%N)" --data-binary "$3"} \
      "https://127.0.0.1:$VX_PORT/v1/shops/corner_coffee$2"
  }
  perm=$(redis-cli -p "$REDIS_PORT" HGET "vx:{$SKILL_ID:amzn1.ask.account.DEMOUSER}:profile" billing_agreement | jq -r .id)
  echo "== the merchant makes a plan and subscribes the customer (merchant API, permission $perm)"
  api POST /plans '{"id":"monthly_beans","name":{"en":"Monthly coffee beans"},"interval":{"unit":"month","count":1},"amount":1290,"currency":"EUR"}' >/dev/null
  sub=$(api POST /subscriptions "$(jq -cn --arg s "$SKILL_ID" --arg p "$perm" \
    '{plan_id:"monthly_beans", customer:{skill_id:$s, user_id:"amzn1.ask.account.DEMOUSER"}, charge_permission_id:$p}')" | jq -r .id)
  for _ in $(seq 1 100); do
    paid=$(api GET "/subscriptions/$sub" | jq -r .cycles_paid)
    [ "$paid" = 1 ] && break
    sleep 0.1
  done
  echo "== the biller charged subscription $sub: cycles paid $paid, order $sub-1 $(api GET "/orders/$sub-1" | jq -r .state)"
}

# Subscribing by voice: "subscribe me to house blend every two weeks", the summary, yes: the
# first cycle is charged on the saved permission (in the turn; if the sandbox's throttling
# answers 429, the janitor charges it a moment later with the same key), and the biller records
# it paid; then "what am I subscribed to?".
voice_subscription() {
  local key sub="" paid=""
  fresh() {
    sed "s/\"requestId\":\"[^\"]*\"/\"requestId\":\"amzn1.echo-api.request.demo-$(date +%s%N)\"/" "$1" >"$D/turn.json"
    echo "$D/turn.json"
  }
  sleep 2 # the sandbox throttles Create Charge as the provider does: the biller just charged
  echo "== by voice: \"subscribe me to house blend every two weeks\""
  $sign "$(fresh scripts/demo/subscribe.json)" | jq -r '.response.outputSpeech.ssml'
  echo "== \"yes\""
  $sign "$(fresh scripts/demo/yes.json)" | jq -r '.response.outputSpeech.ssml'
  key="vx:{$SKILL_ID:amzn1.ask.account.DEMOUSER}"
  for _ in $(seq 1 300); do
    sub=$(redis-cli -p "$REDIS_PORT" LINDEX "$key:subs" 0 | tr -d '"')
    paid=$(redis-cli -p "$REDIS_PORT" HGET "$key:sub:$sub" cycles_paid)
    [ "$paid" = 1 ] && break
    sleep 0.1
  done
  echo "== the customer's subscription $sub ($(redis-cli -p "$REDIS_PORT" HGET "$key:sub:$sub" plan_id | tr -d '"')): cycles paid $paid, order $sub-1 $(redis-cli -p "$REDIS_PORT" HGET "$key:order:$sub-1" state | tr -d '"')"
  echo "== \"what am I subscribed to?\""
  $sign "$(fresh scripts/demo/subscriptions.json)" | jq -r '.response.outputSpeech.ssml'
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
