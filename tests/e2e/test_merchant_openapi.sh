#!/usr/bin/env bash
# The OpenAPI 3.1 document of the merchant API (openapi/merchant-v1.json) is what voxcartd serves
# at /v1/openapi.json, and what voxcartd answers matches it: every operation is exercised, with
# successes and errors, and each answer's status and body are checked against the document's
# schemas by tests/e2e/openapi_check.js.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/merchant.inc.sh"
FULL=$(tok --merchant demo)
: >"$T/cases.jsonl"

# rec METHOD PATH [BODY] [curl args...]: sends it and records the answer as a case
rec() {
  local m=$1 p=$2 b=${3:-}; shift 3 2>/dev/null || shift $#
  local args=(-H "Authorization: Bearer $FULL")
  [ -n "$b" ] && args+=(-H 'Content-Type: application/json' --data-binary "$b")
  BODY=$(curl -s --cacert "$CA/root.pem" -o - -w '\n%{http_code}' -X "$m" "${args[@]}" "$@" "$BASE$p")
  STATUS=${BODY##*$'\n'}
  BODY=${BODY%$'\n'*}
  jq -cn --arg m "$m" --arg p "$p" --argjson s "$STATUS" --arg b "$BODY" \
    '{method:$m, path:$p, status:$s, body:$b}' >>"$T/cases.jsonl"
}

curl -s --cacert "$CA/root.pem" "$BASE/v1/openapi.json" >"$T/served.json"
check "/v1/openapi.json serves the document in the repository" \
  [ "$(jq -S . "$T/served.json")" = "$(jq -S . "$SRC/openapi/merchant-v1.json")" ]
check "... an OpenAPI 3.1 document" [ "$(jq -r .openapi "$T/served.json")" = 3.1.0 ]
rec GET /v1/openapi.json

rec GET /v1/shops
rec GET /v1/shops '' -H 'Authorization: Bearer nope'
rec POST /v1/shops '{"id":"kiosk","name":{"en":"Kiosk"},"currency":"GBP","locales":["en-GB"],"sizes":[{"id":"big","names":{"en":{"one":"big"}}}]}'
rec POST /v1/shops '{"id":"kiosk","name":{"en":"Kiosk"},"currency":"GBP","locales":["en-GB"]}'
rec POST /v1/shops '{"name":{"en":"X"},"currency":"EURO","locales":["en-GB"]}'
rec POST /v1/shops '{"name":'
rec GET /v1/shops/kiosk
rec GET /v1/shops/nope
rec POST /v1/shops/kiosk/products '{"id":"tea","names":{"en":{"one":"tea","other":"teas"}},"prices":[{"currency":"GBP","amount":250}],"position":1}'
rec POST /v1/shops/kiosk/products '{"id":"cake","names":{"en":{"one":"cake"}},"sizes":[{"size":"big","prices":[{"currency":"GBP","amount":400},{"currency":"EUR","amount":450}]}]}'
rec POST /v1/shops/kiosk/products '{"id":"tea","names":{"en":{"one":"tea"}},"prices":[{"currency":"GBP","amount":250}]}'
rec POST /v1/shops/kiosk/products '{"names":{"en":{"one":"x"}},"prices":[{"currency":"USD","amount":1}]}'
rec GET '/v1/shops/kiosk/products?limit=1'
rec GET '/v1/shops/kiosk/products?limit=0'
rec GET /v1/shops/kiosk/products/tea
rec PUT /v1/shops/kiosk/products/tea '{"names":{"en":{"one":"tea"}},"prices":[{"currency":"GBP","amount":260}],"active":false}'
rec PUT /v1/shops/kiosk/products/nope '{"names":{"en":{"one":"x"}},"prices":[{"currency":"GBP","amount":1}]}'
rec POST /v1/shops/kiosk/plans '{"id":"monthly","name":{"en":"Tea every month"},"interval":{"unit":"month","count":1},"amount":990,"currency":"GBP","trial_days":7}'
rec POST /v1/shops/kiosk/plans '{"name":{"en":"x"},"interval":{"unit":"month","count":1},"amount":0,"currency":"GBP"}'
rec GET /v1/shops/kiosk/plans
rec GET /v1/shops/kiosk/plans/monthly
rec GET /v1/shops/kiosk/plans/nope
SUB='{"plan_id":"monthly","customer":{"skill_id":"amzn1.ask.skill.test","user_id":"amzn1.ask.account.OPENAPI"},"charge_permission_id":"S02-0000000-0000000","bill_hour":8}'
rec POST /v1/shops/kiosk/subscriptions "$SUB" -H 'Idempotency-Key: openapi-sub'
SUB_ID=$(jq -r .id <<<"$BODY")
rec POST /v1/shops/kiosk/subscriptions "${SUB/\"bill_hour\":8/\"bill_hour\":25}"
rec GET '/v1/shops/kiosk/subscriptions?status=trialing&limit=5'
rec GET '/v1/shops/kiosk/subscriptions?status=nope'
rec GET "/v1/shops/kiosk/subscriptions/$SUB_ID"
rec GET /v1/shops/kiosk/subscriptions/sub_000000000000
rec POST "/v1/shops/kiosk/subscriptions/$SUB_ID/bill_now"
rec POST "/v1/shops/kiosk/subscriptions/$SUB_ID/pause"
rec POST "/v1/shops/kiosk/subscriptions/$SUB_ID/resume"
rec POST "/v1/shops/kiosk/subscriptions/$SUB_ID/bill_now"
rec POST "/v1/shops/kiosk/subscriptions/$SUB_ID/skip" '{"why":1}'
rec POST "/v1/shops/kiosk/subscriptions/$SUB_ID/skip"
rec POST "/v1/shops/kiosk/subscriptions/$SUB_ID/cancel"
rec POST "/v1/shops/kiosk/subscriptions/$SUB_ID/cancel"
rec PUT /v1/shops/kiosk '{"name":{"en":"Kiosk"},"currency":"GBP","locales":["en-GB"],"voice_code_threshold":5000,"sizes":[{"id":"big","names":{"en":{"one":"big"}}}],"time_zone":"Europe/London"}'
rec PUT /v1/shops/kiosk '{"name":{"en":"Kiosk"},"currency":"GBP","locales":["en-GB"],"time_zone":"Europe/Nowhere"}'
rec PUT /v1/shops/kiosk '{"name":{"en":"Kiosk"},"currency":"GBP","locales":["en-GB"],"environment":"staging"}'
rec PUT /v1/shops/nope '{"name":{"en":"Kiosk"},"currency":"GBP","locales":["en-GB"]}'
rec GET /v1/shops/kiosk/simulation
rec PUT /v1/shops/kiosk/simulation '{"code":"HardDeclined"}'
rec PUT /v1/shops/kiosk/simulation '{"code":"Nope"}'
rec GET /v1/shops/kiosk/simulation
rec DELETE /v1/shops/kiosk/simulation
rec DELETE /v1/shops/kiosk/simulation
rec PUT /v1/shops/kiosk '{"name":{"en":"Kiosk"},"currency":"GBP","locales":["en-GB"],"environment":"production","sizes":[{"id":"big","names":{"en":{"one":"big"}}}]}'
rec PUT /v1/shops/kiosk/simulation '{"code":"HardDeclined"}'
rec POST /v1/webhook_endpoints '{"url":"http://127.0.0.1:9/hooks","description":"nobody"}'
EP=$(jq -r .id <<<"$BODY")
rec POST /v1/webhook_endpoints '{"url":"mailto:x"}'
rec GET /v1/webhook_endpoints
# an order by voice, its events and its (failing) deliveries
for f in order.json yes.json; do
  sed -e "s/demo-000[0-9]/$RANDOM$RANDOM/" "$SRC/scripts/demo/$f" >"$T/turn.json"
  "$VOXCART" sign --dir "$CA" --restamp --url "$BASE/alexa" "$T/turn.json" >/dev/null 2>&1
done
rec GET /v1/shops/corner_coffee/orders
ORDER=$(jq -r '.data[0].id' <<<"$BODY")
rec GET "/v1/shops/corner_coffee/orders/$ORDER"
rec GET /v1/shops/corner_coffee/orders/o20260101-0000000000
rec POST "/v1/shops/corner_coffee/orders/$ORDER/refunds" '{"amount":100}'
rec POST "/v1/shops/corner_coffee/orders/$ORDER/refunds" '{"amount":0}'
rec GET "/v1/shops/corner_coffee/orders/$ORDER/billing_agreement"
rec POST "/v1/shops/corner_coffee/orders/$ORDER/billing_agreement/close"
rec GET /v1/events
wait_for 10 bash -c "curl -s --cacert '$CA/root.pem' -H 'Authorization: Bearer $FULL' '$BASE/v1/webhook_endpoints/$EP/deliveries' | jq -e '.data | length > 0' >/dev/null"
rec GET "/v1/webhook_endpoints/$EP/deliveries"
node "$SRC/tests/e2e/openapi_check.js" "$SRC/openapi/merchant-v1.json" "$T/cases.jsonl" >"$T/check.out" 2>&1
rc=$?
cat "$T/check.out"
STATUS=$rc BODY=$(grep FAIL "$T/check.out" | head -5)
check "every answer matches the document, and every operation of it was exercised" [ "$rc" = 0 ]
check "... and it looked at them all" grep -qx "$(wc -l <"$T/cases.jsonl") answers, 0 problems" "$T/check.out"
# the checker itself: an answer that breaks the document is caught
printf '%s\n' '{"method":"GET","path":"/v1/shops","status":200,"body":"{\"data\":[{\"id\":1}]}"}' \
  '{"method":"GET","path":"/v1/events","status":418,"body":"{}"}' >"$T/bad.jsonl"
out=$(node "$SRC/tests/e2e/openapi_check.js" "$SRC/openapi/merchant-v1.json" "$T/bad.jsonl" 2>&1)
check "the checker refuses a body that breaks a schema and a status the document does not name" \
  bash -c 'grep -q "FAIL GET /v1/shops 200: .*integer, not string" <<<"$1" && grep -q "status 418 is not documented" <<<"$1"' _ "$out"
finish
