#!/usr/bin/env bash
# Webhooks: events of the merchant's log POSTed to the endpoints it registered, signed with each
# endpoint's secret (t=...,v1=HMAC-SHA256 over "t.body"), retried with backoff until 2xx: a
# receiver that fails twice then succeeds gets each event with the same ID every time and a
# valid signature, and the attempts are visible; an endpoint that is down for the whole retry
# window leaves the event failed and visible, and the next events still go out.
. "$(dirname "$0")/lib.sh" "$1"
export VOXCART_WEBHOOK_RETRY_WINDOW=3 VOXCART_WEBHOOK_BACKOFF_MS=200
. "$(dirname "$0")/merchant.inc.sh"
FULL=$(tok --merchant demo)

call() { # call METHOD PATH [curl args...]: sets STATUS and BODY
  local m=$1 p=$2; shift 2
  BODY=$(curl -s --cacert "$CA/root.pem" -o - -w '\n%{http_code}' -X "$m" \
    -H "Authorization: Bearer $FULL" "$@" "$BASE$p")
  STATUS=${BODY##*$'\n'}
  BODY=${BODY%$'\n'*}
}
hook() { call POST /v1/webhook_endpoints -H 'Content-Type: application/json' --data-binary "$1"; }
order() { # an order by voice, as customer $1: an order.created event
  for f in order.json yes.json; do
    sed -e "s/demo-000[0-9]/$RANDOM$RANDOM/" -e "s/DEMOUSER/$1/g" "$SRC/scripts/demo/$f" >"$T/turn.json"
    "$VOXCART" sign --dir "$CA" --restamp --url "$BASE/alexa" "$T/turn.json" >/dev/null 2>&1
  done
}

node "$SRC/tests/e2e/webhook_receiver.js" "$T/received.jsonl" 2 >"$T/receiver.out" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q listening "$T/receiver.out"
RPORT=$(sed -n 's/^listening //p' "$T/receiver.out")
DOWN=$(free_port) # nobody listens there

hook '{"url":"ftp://example.com/x"}'
check "an endpoint URL that is not http(s): 422 naming url" all_of [ "$STATUS" = 422 ] -- \
  [ "$(jq -r .error.field <<<"$BODY")" = url ]
hook "{\"url\":\"http://127.0.0.1:$RPORT/hooks\",\"description\":\"the ERP\"}"
check "an endpoint is registered with a secret of its own" all_of [ "$STATUS" = 201 ] -- \
  jq -e '.secret | startswith("whsec_")' <<<"$BODY" >/dev/null
EP=$(jq -r .id <<<"$BODY")
SECRET=$(jq -r .secret <<<"$BODY")
hook "{\"url\":\"http://127.0.0.1:$DOWN/hooks\"}"
EP_DOWN=$(jq -r .id <<<"$BODY")
call GET /v1/webhook_endpoints
check "both endpoints are listed" [ "$(jq '.data | length' <<<"$BODY")" = 2 ]

order ALICE
check "the receiver got the event on the third attempt" \
  wait_for 15 bash -c "grep -c '\"status\":200' '$T/received.jsonl' | grep -qx 1"
check "... after two answered 500" [ "$(grep -c '"status":500' "$T/received.jsonl")" = 2 ]
check "... with the same event ID every time, the one in the body" all_of \
  [ "$(jq -r '.headers["voxcart-event-id"]' "$T/received.jsonl" | sort -u | wc -l)" = 1 ] -- \
  [ "$(jq -r '.body | fromjson | .id' "$T/received.jsonl" | sort -u)" = "$(jq -r '.headers["voxcart-event-id"]' "$T/received.jsonl" | sort -u)" ]
check "... an order.created event" [ "$(jq -r '.body | fromjson | .type' "$T/received.jsonl" | sort -u)" = order.created ]
valid=0
while IFS= read -r line; do
  sig=$(jq -r '.headers["voxcart-signature"]' <<<"$line")
  t=${sig#t=}; t=${t%%,*}; v1=${sig#*v1=}
  want=$(jq -j '.body' <<<"$line" | { printf '%s.' "$t"; cat; } |
    openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
  [ "$want" = "$v1" ] && [ $(( $(date +%s) - t )) -lt 60 ] && valid=$((valid + 1))
done <"$T/received.jsonl"
check "every attempt carries a valid signature over t.body with the endpoint's secret" [ "$valid" = 3 ]
call GET "/v1/webhook_endpoints/$EP/deliveries"
check "the delivery is visible: succeeded after 3 attempts (500, 500, 200)" \
  [ "$(jq -c '[.data[0].state, [.data[0].attempts[].status]]' <<<"$BODY")" = '["succeeded",[500,500,200]]' ]

check "the endpoint that is down: the event failed after the retry window" \
  wait_for 20 bash -c "curl -s --cacert '$CA/root.pem' -H 'Authorization: Bearer $FULL' '$BASE/v1/webhook_endpoints/$EP_DOWN/deliveries' | jq -e '.data[0].state == \"failed\"' >/dev/null"
call GET "/v1/webhook_endpoints/$EP_DOWN/deliveries"
check "... with its attempts, each without an answer, visible" all_of \
  [ "$(jq '.data[0].attempts | length' <<<"$BODY")" -ge 3 ] -- \
  [ "$(jq -c '[.data[0].attempts[].status] | unique' <<<"$BODY")" = '[0]' ]
check "... and marked failed in the log" grep -q "failed for good" "$T/voxcartd.log"

order BOB
check "the next event goes out to the receiver at once" \
  wait_for 10 bash -c "[ \$(grep -c '\"status\":200' '$T/received.jsonl') = 2 ]"
check "... as a new event ID" [ "$(jq -r '.headers["voxcart-event-id"]' "$T/received.jsonl" | sort -u | wc -l)" = 2 ]
finish
