#!/usr/bin/env bash
# voxcart-paysim: limits and the clock, throttling, faults on demand (the dropped answer
# leaves exactly one charge), signed notifications retried until 2xx, and the state
# file surviving a restart.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"

STATE="$T/paysim-state.json"
start_paysim --throttle off --state "$STATE"
make_merchant shop1
is() { [ "$1" = "$2" ] || { echo "  expected '$2', got '$1'"; return 1; }; }
charge() { # PERM AMOUNT KEY [-H ...]
  local p=$1 a=$2 k=$3; shift 3
  api POST charges "{\"chargePermissionId\":\"$p\",\"chargeAmount\":{\"amount\":\"$a\",\"currencyCode\":\"EUR\"},\"captureNow\":true}" -H "x-amz-pay-idempotency-key: $k" "$@"
}
ledger_count() { sim GET "charges?chargePermissionId=$1"; jqb '.charges|length'; }

# the monthly limit, then the next month
sim POST clock '{"set":"20270115T120000Z","freeze":true}'
check "clock set and frozen (so the month boundary is exact)" is "$(jqb .now) $(jqb .frozen)" "20270115T120000Z true"
sim POST chargePermissions '{"merchantId":"shop1","amount":{"amount":"600.00","currencyCode":"EUR"}}'
P=$(jqb .chargePermissionId)
charge "$P" 600.00 m1
check "600 EUR of the 1000 monthly limit" is "$STATUS" 201
charge "$P" 400.01 m2
check "400.01 more in the same month: PeriodicAmountExceeded" is "$STATUS $(jqb .reasonCode)" "400 PeriodicAmountExceeded"
api GET "chargePermissions/$P"
check "the balance shows 400.00 left" is "$(jqb .limits.amountBalance.amount)" "400.00"
charge "$P" 400.00 m3
check "exactly the rest: 201" is "$STATUS" 201
charge "$P" 0.01 m4
check "the limit is used up" is "$(jqb .reasonCode)" PeriodicAmountExceeded
sim POST clock '{"set":"20270131T235959Z"}'
charge "$P" 0.01 m5
check "still January at 23:59:59 on the 31st" is "$(jqb .reasonCode)" PeriodicAmountExceeded
sim POST clock '{"advanceSeconds":1}'
charge "$P" 400.01 m6
check "1 February: the limit is new again" is "$STATUS" 201
api GET "chargePermissions/$P"
check "  and the balance is the month's" is "$(jqb .limits.amountBalance.amount)" "599.99"
sim POST chargePermissions '{"merchantId":"shop1","chargePermissionType":"OneTime","limit":{"amount":"200000.00","currencyCode":"EUR"}}'
charge "$(jqb .chargePermissionId)" 150000.01 m7
check "per-charge maximum 150000: TransactionAmountExceeded" is "$STATUS $(jqb .reasonCode)" "400 TransactionAmountExceeded"

# expiry on the clock
api POST checkoutSessions '{"paymentDetails":{"paymentIntent":"Confirm"},"chargePermissionType":"Recurring"}' -H "x-amz-pay-idempotency-key: s1"
S=$(jqb .checkoutSessionId)
sim POST clock '{"advanceDays":1}'
api GET "checkoutSessions/$S"
check "a checkout session not approved in 24 h: Canceled Expired" is "$(jqb .statusDetails.state) $(jqb .statusDetails.reasonCode)" "Canceled Expired"
sim POST clock '{"advanceDays":396}'
api GET "chargePermissions/$P"
check "a recurring permission not charged for 13 months: Closed Expired" \
  is "$(jqb '.statusDetails.state+" "+.statusDetails.reasons[0].reasonCode')" "Closed Expired"
sim POST clock '{"set":"20270301T100000Z","freeze":false}'
sleep 1.1
sim GET clock
check "an unfrozen clock runs again" [ "$(jqb .now)" != 20270301T100000Z ]
sim POST chargePermissions '{"merchantId":"shop1","amount":{"amount":"10.00","currencyCode":"EUR"}}'
P=$(jqb .chargePermissionId)

# throttling: the sandbox table (Create Charge burst 2, 1 per second)
sim POST throttle '{"enabled":true}'
check "throttling on" is "$(jqb .enabled) $(jqb .sandbox.createCharge.burst)" "true 2"
# Requests take a while on a loaded machine (a token comes back every second), so send
# until one is refused: the first two of a burst pass, one of the next few is throttled.
statuses=""
for i in 1 2 3 4 5 6; do
  charge "$P" 1.00 "t$i"
  statuses+="$STATUS "
  [ "$STATUS" = 429 ] && break
done
check "a burst of Create Charge: two pass, then 429 ($statuses)" \
  [ "${statuses:0:8}" = "201 201 " -a "$STATUS" = 429 ]
check "  429 TooManyRequests" is "$(jqb .reasonCode)" TooManyRequests
check "  the throttled request left no charge" is "$(ledger_count "$P")" $((i - 1))
sleep 1.1
charge "$P" 1.00 "t$i"
check "a second later the same key goes through (429 is not stored)" is "$STATUS" 201
sim POST throttle '{"sandbox":{"getCharge":{"burst":1,"perSecond":1}}}'
api GET "chargePermissions/$P"; g1=$STATUS
api GET "chargePermissions/$P"
check "Get Charge Permission has its own bucket (burst 10)" is "$g1 $STATUS" "200 200"
sim POST throttle '{"enabled":false}'

# faults: a status, latency, and the dropped answer
sim POST faults '{"operation":"createCharge","kind":"status","status":503}'
charge "$P" 2.00 f1
check "injected 503: ServiceUnavailable" is "$STATUS $(jqb .reasonCode)" "503 ServiceUnavailable"
charge "$P" 2.00 f1
check "the retry with the same key is served" is "$STATUS" 201
sim POST faults '{"operation":"createCharge","kind":"status","status":500,"count":2}'
charge "$P" 2.00 f2; a=$STATUS
charge "$P" 2.00 f2; b=$STATUS
charge "$P" 2.00 f2
check "a 500 fault for two requests, then served" is "$a $b $STATUS" "500 500 201"
sim POST faults '{"operation":"getChargePermission","kind":"status","status":429}'
api GET "chargePermissions/$P"
check "injected 429 on another operation" is "$STATUS $(jqb .reasonCode)" "429 TooManyRequests"
sim POST faults '{"operation":"getChargePermission","kind":"latency","latencyMs":400}'
t0=$(date +%s%N)
api GET "chargePermissions/$P"
ms=$((($(date +%s%N) - t0) / 1000000))
check "added latency: answered after 400 ms or more (${ms} ms)" [ "$STATUS" = 200 -a "$ms" -ge 400 ]
before=$(ledger_count "$P")
sim POST faults '{"operation":"createCharge","kind":"drop"}'
charge "$P" 3.00 lost-1
check "drop fault: the connection closes without an answer" is "$CURL_RC $STATUS" "52 000"
check "  the charge was processed once" is "$(ledger_count "$P")" $((before + 1))
charge "$P" 3.00 lost-1
C=$(jqb .chargeId)
check "  the retry with the same key gets the stored answer" is "$STATUS $(jqb .statusDetails.state)" "201 Captured"
check "  and the ledger still holds exactly one charge for it" is "$(ledger_count "$P")" $((before + 1))
sim GET faults
check "every fault used up" is "$(jqb '.faults|length')" 0
sim POST faults '{"operation":"nope","kind":"drop"}'
check "a fault on an unknown operation: bad_request" is "$STATUS $(jqb .error.code)" "400 bad_request"

# notifications: signed, retried until 2xx
curl -sS "$PS_URL/_sim/notify-key" >"$T/notify.pub"
node "$SRC/tests/paysim/receiver.js" "$T/received.jsonl" "$T/notify.pub" 2 >"$T/receiver.out" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q '^receiver:' "$T/receiver.out"
RPORT=$(sed -n 's/^receiver: //p' "$T/receiver.out")
sim POST merchants "{\"merchantId\":\"shop1\",\"notifyUrl\":\"http://127.0.0.1:$RPORT/ipn?shop=1\"}"
check "notification URL set for the merchant" is "$STATUS $(jqb .notifyUrl)" "200 http://127.0.0.1:$RPORT/ipn?shop=1"
charge "$P" 1.50 n1
NC=$(jqb .chargeId)
delivered() { sim GET notifications; [ "$(jqb "[.notifications[]|select(.objectId==\"$NC\" and .delivered)]|length")" = 1 ]; }
wait_for 15 delivered
check "the charge's notification is delivered after two 500s" delivered
check "  after three attempts" is "$(jqb "[.notifications[]|select(.objectId==\"$NC\")][0].attempts")" 3
check "  the receiver saw three posts" is "$(wc -l <"$T/received.jsonl")" 3
check "  every one signed with the sandbox's notification key" is "$(jq -s 'map(.verified)|all' "$T/received.jsonl")" true
check "  naming the charge and its permission" \
  is "$(jq -r -s '.[-1].message|.ObjectType+" "+.ObjectId+" "+.ChargePermissionId+" "+.NotificationType' "$T/received.jsonl")" "CHARGE $NC $P STATE_CHANGE"
sim POST "chargePermissions/$P/state" '{"state":"NonChargeable","reasonCode":"PaymentMethodExpired"}'
permnote() { grep -q "\"ObjectType\":\"CHARGE_PERMISSION\"" "$T/received.jsonl"; }
wait_for 10 permnote
check "a permission's change of state notifies too" permnote

# the state file survives a restart
sim POST save '{}'
check "saved" is "$STATUS $(jqb .saved)" "200 $STATE"
kill -TERM "$PS_PID"; wait "$PS_PID" 2>/dev/null
check "the sandbox stopped and left its state file" [ -s "$STATE" ]
start_paysim --throttle off --state "$STATE"
charge "$P" 3.00 lost-1
check "after a restart the key still replays the same charge" is "$STATUS $(jqb .chargeId)" "201 $C"
api GET "charges/$NC"
check "  the ledger, merchant and key came back" is "$STATUS $(jqb .chargeAmount.amount)" "200 1.50"
sim GET clock
check "  and the clock" is "$(jqb '.now|startswith("202703")')" true
sim POST save "{\"file\":\"$T/snapshot.json\"}"
check "saved to another file" is "$STATUS $(jqb .saved)" "200 $T/snapshot.json"
sim POST reset '{}'
sim GET charges
check "reset empties the ledger" is "$(jqb '.charges|length')" 0
sim POST load "{\"file\":\"$T/snapshot.json\"}"
sim GET charges
check "load brings the saved ledger back" [ "$(jqb '.charges|length')" -gt 5 ]
finish_paysim
