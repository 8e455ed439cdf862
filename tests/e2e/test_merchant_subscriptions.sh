#!/usr/bin/env bash
# Subscriptions through the merchant API against the payment sandbox: a shop's time zone, every
# validation error of a new subscription naming its field, the idempotent POST (one subscription
# however often it is sent; another body with the key refused), another merchant seeing nothing,
# pages and filters, the changes (pause, resume, skip, bill now, cancel) with their rules, ledger
# entries and events; then with voxcartd's biller on: a subscription starting today has its first
# cycle charged once at the sandbox, the cycle's order PAID in the shop's orders, bill now charging
# the next cycle at once, a paused one left alone when due, a canceled one refusing every change,
# and a pause that lands while a charge is in flight settled by the biller after the resume.
. "$(dirname "$0")/lib.sh" "$1"
export VOXCART_BILLER_INTERVAL_MS=0 # the rules first, with no biller to race them; then with one
. "$(dirname "$0")/merchant_pay.inc.sh"
SKILL=amzn1.ask.skill.subs
S=/v1/shops/subs_shop
json() { # json TOKEN METHOD PATH BODY [curl args...]
  local t=$1 m=$2 p=$3 b=$4; shift 4
  call "$t" "$m" "$p" -H 'Content-Type: application/json' --data-binary "$b" "$@"
}
field_is() { code_is 422 validation_failed && [ "$(jq -r .error.field <<<"$BODY")" = "$1" ]; }
# permission USER: a Recurring charge permission of a buyer at the sandbox; PERM is its ID
permission() {
  sim POST chargePermissions "$(jq -n --arg m "$MERCHANT" \
    '{merchantId:$m, chargePermissionType:"Recurring", buyerId:"buyer-alice", instrument:"card-ok"}')"
  [ "$STATUS" = 201 ] || echo "no charge permission: $STATUS $BODY"
  PERM=$(jq -r .chargePermissionId <<<"$BODY")
}
sub_body() { # sub_body USER PLAN [extra members as JSON]
  jq -cn --arg s "$SKILL" --arg u "amzn1.ask.account.$1" --arg p "$2" --arg perm "$PERM" \
    --argjson x "${3:-{\}}" '{plan_id:$p, customer:{skill_id:$s, user_id:$u}, charge_permission_id:$perm} + $x'
}
sub_key() { echo "vx:{$SKILL:amzn1.ask.account.$1}:sub:$2"; }
today=$(TZ=Pacific/Kiritimati date +%F) # the shop's zone: UTC+14, its day before anyone's
tomorrow=$(TZ=Pacific/Kiritimati date -d tomorrow +%F)

# --- the shop's time zone ---
SHOP=$(jq -cn --arg s "$SKILL" '{id:"subs_shop", name:{en:"Subs"}, currency:"EUR", locales:["en-GB"],
  skill_ids:[$s], time_zone:"Mars/Olympus"}')
json "$FULL" POST /v1/shops "$SHOP"
check "a shop with a zone the system does not know: 422 naming time_zone" field_is time_zone
json "$FULL" POST /v1/shops "$(jq -c '.time_zone = 7' <<<"$SHOP")"
check "... a zone that is not a string: 422 naming time_zone" field_is time_zone
json "$FULL" POST /v1/shops "$(jq -c '.time_zone = "../../etc/passwd"' <<<"$SHOP")"
check "... a path for a zone: 422 naming time_zone" field_is time_zone
json "$FULL" POST /v1/shops "$(jq -c '.time_zone = "Pacific/Kiritimati"' <<<"$SHOP")"
check "a shop in Pacific/Kiritimati: 201 with its zone" all_of [ "$STATUS" = 201 ] -- \
  [ "$(jq -r .time_zone <<<"$BODY")" = Pacific/Kiritimati ]
json "$FULL" POST /v1/shops '{"id":"plain","name":{"en":"Plain"},"currency":"EUR","locales":["en-GB"]}'
check "a shop without one is in UTC" all_of [ "$STATUS" = 201 ] -- [ "$(jq -r .time_zone <<<"$BODY")" = UTC ]
json "$FULL" PUT /v1/shops/plain '{"name":{"en":"Plain"},"currency":"EUR","locales":["en-GB"],"time_zone":"Europe/Berlin"}'
check "PUT changes it" all_of [ "$STATUS" = 200 ] -- [ "$(jq -r .time_zone <<<"$BODY")" = Europe/Berlin ]
json "$FULL" POST "$S/plans" '{"id":"weekly","name":{"en":"Beans every week"},"interval":{"unit":"week","count":1},"amount":990,"currency":"EUR"}'
check "a weekly plan of 9.90 EUR" [ "$STATUS" = 201 ]
json "$FULL" POST "$S/plans" '{"id":"trial","name":{"en":"Beans, first month free"},"interval":{"unit":"month","count":1},"amount":1500,"currency":"EUR","trial_days":30}'
json "$FULL" POST "$S/plans" '{"id":"off","name":{"en":"Old"},"interval":{"unit":"month","count":1},"amount":100,"currency":"EUR","active":false}'
json "$FULL" POST "$S/plans" '{"id":"usd","name":{"en":"Dollars"},"interval":{"unit":"month","count":1},"amount":100,"currency":"USD"}'

# --- validation, each naming its field ---
permission ALICE
bad() { # bad FIELD BODY
  json "$FULL" POST "$S/subscriptions" "$2"
  check "a subscription refused naming '$1' ($(head -c 90 <<<"$2"))" field_is "$1"
}
bad plan_id "$(sub_body ALICE nope)"
bad plan_id "$(sub_body ALICE off)"
bad plan_id "$(sub_body ALICE usd)"
bad plan_id "$(sub_body ALICE 'Bad Id')"
bad plan_id "$(sub_body ALICE weekly | jq -c 'del(.plan_id)')"
bad customer "$(sub_body ALICE weekly | jq -c '.customer = "ALICE"')"
bad customer.skill_id "$(sub_body ALICE weekly | jq -c '.customer.skill_id = "amzn1.ask.skill.other"')"
bad customer.skill_id "$(sub_body ALICE weekly | jq -c 'del(.customer.skill_id)')"
bad customer.user_id "$(sub_body ALICE weekly | jq -c '.customer.user_id = "has space"')"
bad customer.user_id "$(sub_body ALICE weekly | jq -c '.customer.user_id = ""')"
bad customer.email "$(sub_body ALICE weekly | jq -c '.customer.email = "a@b"')"
bad charge_permission_id "$(sub_body ALICE weekly | jq -c 'del(.charge_permission_id)')"
bad start_date "$(sub_body ALICE weekly '{"start_date":"2026-02-30"}')"
bad start_date "$(sub_body ALICE weekly '{"start_date":"tomorrow"}')"
bad start_date "$(sub_body ALICE weekly '{"start_date":"2020-01-01"}')"
bad start_date "$(sub_body ALICE weekly '{"start_date":"2099-01-01"}')"
bad bill_hour "$(sub_body ALICE weekly '{"bill_hour":24}')"
bad bill_hour "$(sub_body ALICE weekly '{"bill_hour":"9"}')"
bad interval "$(sub_body ALICE weekly '{"interval":{"unit":"day","count":1}}')"
json "$FULL" POST "$S/subscriptions" '{"plan_id":'
check "malformed JSON: 400" code_is 400 malformed_json
json "$READ" POST "$S/subscriptions" "$(sub_body ALICE weekly)"
check "scope read cannot subscribe: 403" code_is 403 insufficient_scope
json "$FULL" POST /v1/shops/nope/subscriptions "$(sub_body ALICE weekly)"
check "a shop that is not there: 404" code_is 404 not_found
json "$OTHER" POST "$S/subscriptions" "$(sub_body ALICE weekly)"
check "another merchant's shop: 404" code_is 404 not_found

# --- created, idempotently; not due yet (tomorrow at 09:00 in the shop's zone) ---
later=$(sub_body ALICE weekly "{\"start_date\":\"$tomorrow\",\"bill_hour\":9}")
json "$FULL" POST "$S/subscriptions" "$later" -H 'Idempotency-Key: sub-alice-1'
check "a subscription: 201, active, cycle 1 due on its start at the billing hour" all_of [ "$STATUS" = 201 ] -- \
  [ "$(jq -c '[.status, .cycle, .anchor, .bill_hour, .amount, .currency, .interval.unit, .time_zone, .wait, .cycles_paid, .environment]' <<<"$BODY")" = \
    "[\"active\",1,\"$tomorrow\",9,990,\"EUR\",\"week\",\"Pacific/Kiritimati\",\"none\",0,\"sandbox\"]" ] -- \
  [ "$(jq .due <<<"$BODY")" = "$(TZ=Pacific/Kiritimati date -d "$tomorrow 09:00" +%s)" ]
first=$BODY
LATER=$(jq -r .id <<<"$BODY")
check "its ID: sub_ and 12 of [a-z0-9]" grep -qx 'sub_[a-z0-9]\{12\}' <<<"$LATER"
json "$FULL" POST "$S/subscriptions" "$later" -H 'Idempotency-Key: sub-alice-1'
check "the same POST with the same key: the same answer" all_of [ "$STATUS" = 201 ] -- [ "$BODY" = "$first" ]
json "$FULL" POST "$S/subscriptions" "$(sub_body ALICE trial)" -H 'Idempotency-Key: sub-alice-1'
check "the same key with another body: 422 idempotency_key_reused" code_is 422 idempotency_key_reused
call "$READ" GET "$S/subscriptions?limit=100"
check "... one subscription of the customer" \
  [ "$(jq -r '[.data[] | select(.user == "amzn1.ask.account.ALICE") | .id] | join(",")' <<<"$BODY")" = "$LATER" ]
check "... one member in the schedule" \
  [ "$(for b in $(seq 0 15); do rcli zrange "vx:{bill:$b}:due" 0 -1; done | grep -c "$LATER")" = 1 ]
check "... and one created entry in its ledger" \
  [ "$(rcli lrange "vx:{$SKILL:amzn1.ask.account.ALICE}:ledger:$LATER" 0 -1 | jq -r .event | paste -sd,)" = created ]
# a retry of a POST that stopped after the document: the same subscription, nothing twice
json "$FULL" POST "$S/subscriptions" "$(sub_body ALICE trial)" -H 'Idempotency-Key: sub-alice-2'
TRIAL=$(jq -r .id <<<"$BODY")
check "with a trial: trialing, the first cycle 30 days after the start" all_of [ "$STATUS" = 201 ] -- \
  [ "$(jq -c '[.status, .anchor]' <<<"$BODY")" = "[\"trialing\",\"$(date -d "$today + 30 days" +%F)\"]" ]
rcli del "vx:{m:demo}:idem:sub-alice-2" >/dev/null # as if the answer was never recorded
json "$FULL" POST "$S/subscriptions" "$(sub_body ALICE trial)" -H 'Idempotency-Key: sub-alice-2'
check "the retry finds the same subscription" all_of [ "$STATUS" = 201 ] -- [ "$(jq -r .id <<<"$BODY")" = "$TRIAL" ]
check "... with one created entry" \
  [ "$(rcli lrange "vx:{$SKILL:amzn1.ask.account.ALICE}:ledger:$TRIAL" 0 -1 | wc -l)" = 1 ]
call "$READ" GET '/v1/events?limit=100'
check "... and one subscription.created event" \
  [ "$(jq "[.data[] | select(.data.subscription_id == \"$TRIAL\")] | length" <<<"$BODY")" = 1 ]

# --- pages and filters ---
for u in BOB CAROL DAVE; do
  permission "$u"
  json "$FULL" POST "$S/subscriptions" "$(sub_body "$u" weekly "{\"start_date\":\"$tomorrow\"}")"
done
call "$READ" GET "$S/subscriptions?limit=2"
check "a page of 2 with a cursor" all_of [ "$STATUS" = 200 ] -- [ "$(jq '.data | length' <<<"$BODY")" = 2 ] -- \
  [ "$(jq -r .next_cursor <<<"$BODY")" != null ]
seen=$(jq -r '.data[].id' <<<"$BODY")
cursor=$(jq -r .next_cursor <<<"$BODY")
while [ "$cursor" != null ]; do
  call "$READ" GET "$S/subscriptions?limit=2&cursor=$cursor"
  seen+=$'\n'$(jq -r '.data[].id' <<<"$BODY")
  cursor=$(jq -r .next_cursor <<<"$BODY")
done
check "the pages hold the 5 subscriptions once each, in ID order" all_of \
  [ "$(grep -c . <<<"$seen")" = 5 ] -- [ "$(sort -u <<<"$seen")" = "$seen" ]
call "$READ" GET "$S/subscriptions?status=trialing"
check "status=trialing: the one with a trial" [ "$(jq -r '[.data[].id] | join(",")' <<<"$BODY")" = "$TRIAL" ]
call "$READ" GET "$S/subscriptions?plan_id=weekly&limit=100"
check "plan_id=weekly: the other 4" all_of [ "$(jq '[.data[] | select(.plan_id == "weekly")] | length' <<<"$BODY")" = 4 ] -- \
  [ "$(jq '.data | length' <<<"$BODY")" = 4 ]
call "$READ" GET "$S/subscriptions?status=gone"
check "an unknown status: 422 naming status" field_is status
call "$READ" GET "$S/subscriptions?plan_id=Bad-Plan"
check "a bad plan_id: 422 naming plan_id" field_is plan_id
call "$OTHER" GET "$S/subscriptions"
check "another merchant lists nothing" all_of [ "$STATUS" = 200 ] -- [ "$(jq '.data | length' <<<"$BODY")" = 0 ]
call "$OTHER" GET "$S/subscriptions/$LATER"
check "... and reads nothing: 404" code_is 404 not_found
call "$READ" GET "$S/subscriptions/sub_nothere0000"
check "a subscription that is not there: 404" code_is 404 not_found
call "$READ" GET "$S/subscriptions/$LATER"
check "one subscription with its ledger and no orders yet" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.id, [.ledger[].event], .orders]' <<<"$BODY")" = "[\"$LATER\",[\"created\"],[]]" ]

# --- changes and their rules ---
act() { call "$1" POST "$S/subscriptions/$2/$3" "${@:4}"; }
key=$(sub_key ALICE "$LATER")
act "$READ" "$LATER" pause
check "scope read cannot pause: 403" code_is 403 insufficient_scope
act "$OTHER" "$LATER" pause
check "another merchant cannot pause it: 404" code_is 404 not_found
act "$FULL" "$LATER" pause -H 'Content-Type: application/json' --data-binary '{"why":"x"}'
check "a change takes no body members: 422 naming the member" field_is why
act "$FULL" "$LATER" resume
check "resume of an active one: 409 subscription_not_paused" code_is 409 subscription_not_paused
act "$FULL" "$TRIAL" bill_now
check "bill now of a trialing one: 409 subscription_not_billable" code_is 409 subscription_not_billable
fence=$(rcli hget "$key" fence)
act "$FULL" "$LATER" pause -H 'Idempotency-Key: pause-1'
check "pause: 200, paused, the fence moved on" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.status, .fence]' <<<"$BODY")" = "[\"paused\",$((fence + 1))]" ]
first=$BODY
act "$FULL" "$LATER" pause -H 'Idempotency-Key: pause-1'
check "the same pause with the same key: the same answer" all_of [ "$STATUS" = 200 ] -- [ "$BODY" = "$first" ]
act "$FULL" "$LATER" pause
check "pause of a paused one: 409 subscription_paused" code_is 409 subscription_paused
act "$FULL" "$LATER" skip
check "skip of a paused one: 409 subscription_paused" code_is 409 subscription_paused
act "$FULL" "$LATER" resume
check "resume: active, still cycle 1 on its start (its date has not passed)" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.status, .cycle, .wait]' <<<"$BODY")" = '["active",1,"none"]' ] -- \
  [ "$(jq .due <<<"$BODY")" = "$(TZ=Pacific/Kiritimati date -d "$tomorrow 09:00" +%s)" ]
act "$FULL" "$LATER" skip
check "skip: cycle 2, due a week after the start" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.status, .cycle]' <<<"$BODY")" = '["active",2]' ] -- \
  [ "$(jq .due <<<"$BODY")" = "$(TZ=Pacific/Kiritimati date -d "$tomorrow + 7 days 09:00" +%s)" ]
act "$FULL" "$LATER" pause
rcli hset "$key" attempt_key "\"$LATER-2-1\"" wait '"settle"' >/dev/null # an attempt in flight
act "$FULL" "$LATER" resume
check "resume with an attempt in flight: active, the attempt left as it is, due now" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.status, .cycle, .attempt_key, .wait]' <<<"$BODY")" = "[\"active\",2,\"$LATER-2-1\",\"settle\"]" ] -- \
  [ $(($(date +%s) - $(jq .due <<<"$BODY"))) -lt 30 ]
act "$FULL" "$LATER" bill_now
check "bill now with an attempt in flight: 409 attempt_in_flight" code_is 409 attempt_in_flight
act "$FULL" "$LATER" skip
check "skip with an attempt in flight: 409 attempt_in_flight" code_is 409 attempt_in_flight
act "$FULL" "$LATER" pause
check "pause with an attempt in flight: paused, the attempt left as it is" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.status, .attempt_key, .wait]' <<<"$BODY")" = "[\"paused\",\"$LATER-2-1\",\"settle\"]" ]
act "$FULL" "$LATER" cancel -H 'Idempotency-Key: cancel-1'
check "cancel with an attempt in flight: canceled, the attempt left to settle" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.status, .attempt_key, .wait]' <<<"$BODY")" = "[\"canceled\",\"$LATER-2-1\",\"settle\"]" ]
for a in pause resume cancel bill_now skip; do
  act "$FULL" "$LATER" "$a"
  check "$a after cancel: 409 subscription_canceled" code_is 409 subscription_canceled
done
act "$FULL" "$LATER" cancel -H 'Idempotency-Key: cancel-1'
check "... but the cancel's own retry with its key gets its answer" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -r .status <<<"$BODY")" = canceled ]
call "$READ" GET "$S/subscriptions/$LATER"
check "the ledger tells every change, oldest first" \
  [ "$(jq -r '[.ledger[] | .event + ":" + .actor] | join(",")' <<<"$BODY")" = \
    "created:merchant,paused:merchant,resumed:merchant,skipped:merchant,paused:merchant,resumed:merchant,paused:merchant,canceled:merchant" ]
check "... the skip names the cycle skipped" [ "$(jq '[.ledger[] | select(.event == "skipped") | .cycle] == [1]' <<<"$BODY")" = true ]
call "$READ" GET '/v1/events?limit=100'
check "every change is an event" \
  [ "$(jq -r "[.data[] | select(.data.subscription_id == \"$LATER\") | .type] | join(\",\")" <<<"$BODY")" = \
    "subscription.created,subscription.paused,subscription.resumed,subscription.skipped,subscription.paused,subscription.resumed,subscription.paused,subscription.canceled" ]

# past due with its retries run out: bill now makes it due now, for a new attempt
sub_of_user() { call "$READ" GET "$S/subscriptions?limit=100"; jq -r ".data[] | select(.user == \"amzn1.ask.account.$1\") | .id" <<<"$BODY"; }
score() { for b in $(seq 0 15); do rcli zscore "vx:{bill:$b}:due" "$SKILL"$'\t'"amzn1.ask.account.$1"$'\t'"$2"; done | grep .; }
BOB=$(sub_of_user BOB)
rcli hset "$(sub_key BOB "$BOB")" status '"past_due"' wait '"grace"' attempt 5 >/dev/null
act "$FULL" "$BOB" bill_now
check "bill now of a past_due one: wait none, due now, its attempts counted on" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.status, .wait, .attempt, .cycle]' <<<"$BODY")" = '["past_due","none",5,1]' ] -- \
  [ $(($(date +%s) - $(jq .due <<<"$BODY"))) -lt 30 ]
check "... and due now in the schedule" [ "$(score BOB "$BOB")" = "$(jq .due <<<"$BODY")" ]
act "$FULL" "$BOB" cancel

# paused over cycles whose dates passed: resumed on the first cycle of today or later
DAVE=$(sub_of_user DAVE)
act "$FULL" "$DAVE" pause
rcli hset "$(sub_key DAVE "$DAVE")" anchor "\"$(date -d "$today - 21 days" +%F)\"" >/dev/null
act "$FULL" "$DAVE" resume
check "resume after three weeks paused: the passed cycles skipped, cycle 4 due today" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.status, .cycle]' <<<"$BODY")" = '["active",4]' ] -- \
  [ "$(jq .due <<<"$BODY")" = "$(TZ=Pacific/Kiritimati date -d "$today 00:00" +%s)" ]
act "$FULL" "$DAVE" cancel

# a guard that refuses every time (the fence is never the one read): read again once, then 409
CAROL=$(sub_of_user CAROL)
rcli hset "$(sub_key CAROL "$CAROL")" fence 1.5 >/dev/null
act "$FULL" "$CAROL" pause
check "a change whose guard is refused twice: 409 conflict" code_is 409 conflict
check "... and nothing written" all_of [ "$(rcli hget "$(sub_key CAROL "$CAROL")" status)" = '"active"' ] -- \
  [ "$(rcli llen "vx:{$SKILL:amzn1.ask.account.CAROL}:ledger:$CAROL")" = 1 ]
rcli hset "$(sub_key CAROL "$CAROL")" fence 0 >/dev/null
act "$FULL" "$CAROL" cancel
act "$FULL" "$TRIAL" cancel
call "$READ" GET "$S/subscriptions?status=canceled&limit=100"
check "every other subscription is canceled before the biller starts" [ "$(jq '.data | length' <<<"$BODY")" = 5 ]

# --- the biller: a subscription starting today is charged ---
kill -TERM "$VX_PID"; wait "$VX_PID" 2>/dev/null
export VOXCART_BILLER_INTERVAL_MS=300 VOXCART_BILLER_RATE=50 VOXCART_BILLER_BURST=50 \
  VOXCART_BILLER_SETTLE_S=2
start_voxcartd
permission ERIN
ERIN_PERM=$PERM
json "$FULL" POST "$S/subscriptions" "$(sub_body ERIN weekly)" -H 'Idempotency-Key: sub-erin'
ERIN_SUB=$(jq -r .id <<<"$BODY")
check "a subscription starting today: due now" all_of [ "$STATUS" = 201 ] -- [ "$(jq .due <<<"$BODY")" -le "$(date +%s)" ]
paid_n() { [ "$(rcli hget "$(sub_key ERIN "$ERIN_SUB")" cycles_paid)" = "$1" ]; }
wait_for 20 paid_n 1
sim GET "charges?chargePermissionId=$ERIN_PERM"
check "the biller charged cycle 1 once at the sandbox: 9.90 EUR, captured" \
  [ "$(jq -c '[.charges[] | [.statusDetails.state, .chargeAmount.amount, .chargeAmount.currencyCode]]' <<<"$BODY")" = '[["Captured","9.90","EUR"]]' ]
call "$READ" GET "$S/subscriptions/$ERIN_SUB"
check "GET: cycles_paid 1, cycle 2 due a week after today, the order of cycle 1" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.cycles_paid, .cycle, .status, .orders]' <<<"$BODY")" = "[1,2,\"active\",[\"$ERIN_SUB-1\"]]" ] -- \
  [ "$(jq .due <<<"$BODY")" = "$(TZ=Pacific/Kiritimati date -d "$today + 7 days 00:00" +%s)" ]
check "... its ledger: created by the merchant, the attempt and the payment by the biller" \
  [ "$(jq -r '[.ledger[] | .event + ":" + .actor] | join(",")' <<<"$BODY")" = "created:merchant,attempt:biller,paid:biller" ]
call "$READ" GET "$S/orders/$ERIN_SUB-1"
check "the order $ERIN_SUB-1 is PAID in the shop's orders, with its ledger" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.state, .total, .subscription_id, [.ledger[].to]]' <<<"$BODY")" = "[\"PAID\",990,\"$ERIN_SUB\",[\"CHARGE_PENDING\",\"PAID\"]]" ]
call "$READ" GET "$S/orders?limit=100"
check "... and listed there" [ "$(jq "[.data[] | select(.id == \"$ERIN_SUB-1\")] | length" <<<"$BODY")" = 1 ]

# bill now: the next cycle charged at the biller's next pass, not on its date
act "$FULL" "$ERIN_SUB" bill_now
check "bill now" [ "$STATUS" = 200 ]
wait_for 20 paid_n 2
sim GET "charges?chargePermissionId=$ERIN_PERM&state=Captured"
check "... cycle 2 charged at once: two captured charges" [ "$(jq '.charges | length' <<<"$BODY")" = 2 ]
call "$READ" GET "$S/subscriptions/$ERIN_SUB"
check "... cycle 3 next, two orders" [ "$(jq -c '[.cycle, .orders]' <<<"$BODY")" = "[3,[\"$ERIN_SUB-1\",\"$ERIN_SUB-2\"]]" ]

# paused: the biller leaves it alone even when it is due
act "$FULL" "$ERIN_SUB" pause
check "pause" [ "$STATUS" = 200 ]
member="$SKILL"$'\t'amzn1.ask.account.ERIN$'\t'"$ERIN_SUB"
rcli hset "$(sub_key ERIN "$ERIN_SUB")" due "$(($(date +%s) - 5))" >/dev/null # as if its date came
for b in $(seq 0 15); do rcli zadd "vx:{bill:$b}:due" XX "$(($(date +%s) - 5))" "$member" >/dev/null; done
sleep 2
sim GET "charges?chargePermissionId=$ERIN_PERM"
check "paused and due: the biller charged nothing more" [ "$(jq '.charges | length' <<<"$BODY")" = 2 ]
check "... and changed nothing" all_of [ "$(rcli hget "$(sub_key ERIN "$ERIN_SUB")" cycle)" = 3 ] -- \
  [ "$(rcli hget "$(sub_key ERIN "$ERIN_SUB")" status)" = '"paused"' ]
act "$FULL" "$ERIN_SUB" bill_now
check "bill now of a paused one: 409 subscription_not_billable" code_is 409 subscription_not_billable
act "$FULL" "$ERIN_SUB" cancel
check "cancel" all_of [ "$STATUS" = 200 ] -- [ "$(jq -r .status <<<"$BODY")" = canceled ]
act "$FULL" "$ERIN_SUB" resume
check "the next change after cancel: 409 subscription_canceled" code_is 409 subscription_canceled
sleep 1
sim GET "charges?chargePermissionId=$ERIN_PERM"
check "canceled: still the two charges" [ "$(jq '.charges | length' <<<"$BODY")" = 2 ]
call "$READ" GET '/v1/events?limit=100'
check "the merchant saw it all as events" \
  [ "$(jq -r "[.data[] | select(.data.subscription_id == \"$ERIN_SUB\") | .type] | join(\",\")" <<<"$BODY")" = \
    "subscription.created,subscription.cycle_paid,subscription.billed_now,subscription.cycle_paid,subscription.paused,subscription.canceled" ]

# paused while the biller's charge is in flight (the sandbox drops the answer after charging, so
# the attempt's outcome is not known when the pause lands): the pause leaves the attempt alone,
# and on resume the biller settles it with the same key: one charge, the cycle paid once
# in_flight_sub USER: a subscription of USER whose first charge is in flight (the sandbox drops
# its answer after charging), created and waited for; sets SUB_ID and SUB_PERM
in_flight_sub() {
  permission "$1"
  SUB_PERM=$PERM
  sim POST faults '{"operation":"createCharge","kind":"drop","count":1}'
  json "$FULL" POST "$S/subscriptions" "$(sub_body "$1" weekly)"
  SUB_ID=$(jq -r .id <<<"$BODY")
  wait_for 20 bash -c '[ "$(redis-cli -c -p "$0" hget "$1" wait)" = "\"settle\"" ]' "$REDIS_PORT" \
    "$(sub_key "$1" "$SUB_ID")"
}
in_flight_sub FRAN
FRAN=$SUB_ID FRAN_PERM=$SUB_PERM
act "$FULL" "$FRAN" pause
check "paused with the attempt in flight: the attempt left as it is" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.status, .attempt_key]' <<<"$BODY")" = "[\"paused\",\"$FRAN-1-1\"]" ]
sleep 1
act "$FULL" "$FRAN" resume
check "resumed" [ "$STATUS" = 200 ]
fran_paid() { [ "$(rcli hget "$(sub_key FRAN "$FRAN")" cycles_paid)" = 1 ]; }
wait_for 20 fran_paid
sim GET "charges?chargePermissionId=$FRAN_PERM"
check "the attempt settled with its key: one captured charge at the sandbox" \
  [ "$(jq -c '[.charges[] | .statusDetails.state]' <<<"$BODY")" = '["Captured"]' ]
call "$READ" GET "$S/subscriptions/$FRAN"
check "... cycle 1 paid once, its order PAID" all_of \
  [ "$(jq -c '[.cycles_paid, .cycle, .attempt_key, .orders]' <<<"$BODY")" = "[1,2,null,[\"$FRAN-1\"]]" ] -- \
  [ "$(rcli hget "vx:{$SKILL:amzn1.ask.account.FRAN}:order:$FRAN-1" state)" = '"PAID"' ]

# canceled while the charge is in flight: the subscription stays canceled, and the biller still
# settles the attempt (a charge the provider may have made is always recorded)
in_flight_sub GUS
GUS=$SUB_ID GUS_PERM=$SUB_PERM
act "$FULL" "$GUS" cancel
check "canceled with the attempt in flight" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.status, .attempt_key]' <<<"$BODY")" = "[\"canceled\",\"$GUS-1-1\"]" ]
gus_paid() { [ "$(rcli hget "$(sub_key GUS "$GUS")" cycles_paid)" = 1 ]; }
check "the biller records the charge all the same: cycle 1 paid" wait_for 20 gus_paid
check "... the subscription still canceled, the cycle's order PAID" all_of \
  [ "$(rcli hget "$(sub_key GUS "$GUS")" status)" = '"canceled"' ] -- \
  [ "$(rcli hget "vx:{$SKILL:amzn1.ask.account.GUS}:order:$GUS-1" state)" = '"PAID"' ]
sim GET "charges?chargePermissionId=$GUS_PERM"
check "... with one captured charge at the sandbox" \
  [ "$(jq -c '[.charges[] | .statusDetails.state]' <<<"$BODY")" = '["Captured"]' ]
sleep 2
sim GET "charges?chargePermissionId=$GUS_PERM"
check "... and nothing more after it: canceled bills no further cycle" \
  [ "$(jq '.charges | length' <<<"$BODY")" = 1 ]
finish_paysim
