#!/usr/bin/env bash
# End to end: a whole paying conversation recorded by voxcartd in development mode, against
# voxcart-paysim, replays at once against a fresh store and again "a day later" (voxcartd's,
# the sandbox's and replay's clocks moved by a day). The customer orders and says yes without
# a saved payment method: a pay link card (the checkout session's link); the buyer approves it
# at the sandbox and the janitor charges the order; in a new session the customer orders again
# and is charged in the turn (the receipt card with the day it was paid). The recorder names
# the pay link, both orders and the day as run variables, records the approval as an approve
# step (replay approves in the buyer's place and waits for the janitor) and keeps the second
# session in the same fixture. --update on the passing recording changes nothing.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"

REC_USER=amzn1.ask.account.E2EPAYUSER
REC_DEVICE=amzn1.ask.device.E2EPAYDEVICE
. "$SRC/tests/e2e/record.inc.sh"
. "$SRC/tests/e2e/pay.inc.sh"
espressos=$(intent OrderIntent "{$(slot product espresso),$(slot quantity 2)}")
yes=$(intent AMAZON.YesIntent)

make_devca
start_redis
start_pay_sandbox
export VOXCART_JANITOR_INTERVAL_MS=300 VOXCART_RECORD_DIR="$T/rec"
VX_PLAIN=1 start_voxcartd --development

# --- the live conversation, recorded ---
S1=amzn1.echo-api.session.E2E-PAY-1 S2=amzn1.echo-api.session.E2E-PAY-2
send true "$LAUNCH" "$S1"
send false "$espressos" "$S1"
check "the order is read back" contains "$BODY" "Shall I place the order"
send false "$yes" "$S1"
check "a first-time customer gets a pay link card" contains "$BODY" "/checkout/"
link=$(grep -oE 'https?://[^"\\ ]*/checkout/[0-9a-f-]+' <<<"$BODY" | head -n 1)
session=$(order_field E2EPAYUSER checkout_session_id | tr -d '"')
order1=$(last_order E2EPAYUSER)
check "the link names the order's checkout session" all_of [ -n "$session" ] -- contains "$link" "$session"
sim POST "checkoutSessions/$session/approve" '{"buyerId":"buyer-alice","instrument":"card-ok"}'
check "the buyer approves it at the sandbox" [ "$STATUS" = 200 ]
check "the janitor charges the order" wait_for 15 paid E2EPAYUSER
recs=("$T"/rec/*.json)
check "the approval is recorded into the conversation" wait_for 10 grep -q '"approve"' "${recs[0]}"
send true "$LAUNCH" "$S2"
send false "$espressos" "$S2"
send false "$yes" "$S2"
check "the next yes is charged in the turn" contains "$BODY" "charged 5 euros"
check "with a receipt card of today" contains "$BODY" "Paid $(date -u +%Y-%m-%d)"
order2=$(last_order E2EPAYUSER)

recs=("$T"/rec/*.json)
check "one fixture for the customer's two sessions" [ "${#recs[@]}" = 1 ]
rec=${recs[0]}
cp "$rec" "$T/recorded.json"
check "the pay link is a run variable" grep -q 'here:\\n%PAY_LINK%"' "$rec"
check "the approve step approves that link" \
  [ "$(jq -r '.turns[] | select(.approve) | .approve.link' "$rec")" = "%PAY_LINK%" ]
check "and waits for the first order to be paid" \
  [ "$(jq -c '.turns[] | select(.approve) | .expect.store.last_order' "$rec")" = '{"id":"%ORDER_ID%","state":"PAID"}' ]
check "it comes after the pay link and before the second session" \
  [ "$(jq -r '[.turns[] | .name] | join(",")' "$rec")" = "LaunchRequest,IntentRequest OrderIntent,IntentRequest AMAZON.YesIntent,the buyer approves the pay link,LaunchRequest,IntentRequest OrderIntent,IntentRequest AMAZON.YesIntent" ]
check "the receipt names the day as %TODAY% and the second order" grep -q 'Paid %TODAY%\\nOrder %ORDER_ID_2%' "$rec"
check "the second order spoken back is the same variable" grep -q 'Your order number is %ORDER_ID_2%' "$rec"
check "no literal order ID is left" lacks "$rec" "${order1//\"/}"
check "nor the second" lacks "$rec" "${order2//\"/}"
check "nor the checkout session" lacks "$rec" "$session"
check "nor the sandbox's address" lacks "$rec" "${PS_URL#http://}"
check "nor today's date in a turn" bash -c "! jq -c .turns \"\$1\" | grep -q \"\$2\"" _ "$rec" "$(date -u +%Y-%m-%d)"

# --- replayed at once, by a server that no longer records, against a fresh store ---
kill -TERM "$VX_PID"; wait "$VX_PID" 2>/dev/null
unset VOXCART_RECORD_DIR
start_redis
VX_PLAIN=1 start_voxcartd --development
replay "$rec"
check "the recording replays at once" [ "$RC" = 0 ]
check "as one conversation" has "$OUT" '^1 passed, 0 failed$'
sim GET checkoutSessions
check "replay approved a pay link of its own run at the sandbox" \
  [ "$(jq --arg s "$session" '[.checkoutSessions[] | select(.statusDetails.state == "Completed" and .checkoutSessionId != $s)] | length' <<<"$BODY")" = 1 ]

# --- the approve step fails when the janitor does not get to it ---
jq '(.turns[] | select(.approve) | .approve.instrument) = "card-hard-decline" | (.turns[] | select(.approve) | .expect.within_ms) = 3000' "$rec" >"$T/declined.json"
replay "$T/declined.json"
check "an approval whose charge is declined fails the step" [ "$RC" = 1 ]
check "naming the order's state" has "$OUT" 'turn 4 \(the buyer approves the pay link\): store\.last_order\.state$'
jq '(.turns[] | select(.approve) | .approve.link) = "%PAY_LINK_2%"' "$rec" >"$T/nolink.json"
replay "$T/nolink.json"
check "an approve step with a link no answer showed fails" [ "$RC" = 1 ]
check "saying so" has "$OUT" "approve\.link: '%PAY_LINK_2%' is not a link"

# --- --update on the passing recording changes nothing ---
updated_unchanged "$rec" "$T/upd/session.json"

# --- --update names the IDs the sandbox and voxcart made that the store shows ---
jq '(.turns[3].expect.store) += {"profile": {"billing_agreement": "x"}} |
    (.turns[3].expect.store.last_order) += {"pay_key": "x", "checkout_session_id": "x", "charge_id": "x", "created": 0}' \
  "$rec" >"$T/upd/store.json"
replay --update "$T/upd/store.json"
check "--update re-bases the store expectations of the approve step" [ "$RC" = 0 ]
check "the attempt's key is a run variable" \
  [ "$(jq -r '.turns[3].expect.store.last_order.pay_key' "$T/upd/store.json")" = '%ATTEMPT_ID%' ]
check "so is the checkout session" \
  [ "$(jq -r '.turns[3].expect.store.last_order.checkout_session_id' "$T/upd/store.json")" = '%CHECKOUT_SESSION_ID%' ]
check "and the sandbox's charge" \
  [ "$(jq -r '.turns[3].expect.store.last_order.charge_id' "$T/upd/store.json")" = '%CHARGE_ID%' ]
check "the order's creation time is its shape" \
  [ "$(jq -r '.turns[3].expect.store.last_order.created' "$T/upd/store.json")" = '%EPOCH%' ]
check "the saved charge permission is one too" \
  contains "$(jq -c '.turns[3].expect.store.profile.billing_agreement' "$T/upd/store.json")" '%CHARGE_PERMISSION_ID%'
check "and no literal ID of this run is left" bash -c "! jq -c .turns \"\$1\" | grep -qE 'o[0-9]{8}-[0-9a-f]{10}|[A-Z][0-9]{2}-[0-9]{7}-[0-9]{7}'" _ "$T/upd/store.json"
replay "$T/upd/store.json"
check "the re-based fixture replays" [ "$RC" = 0 ]

# --- a day later: voxcartd's, the sandbox's and replay's clocks moved by a day ---
kill -TERM "$VX_PID"; wait "$VX_PID" 2>/dev/null
start_redis
sim POST clock '{"advanceDays":1}'
check "the sandbox's clock moves a day" [ "$STATUS" = 200 ]
VOXCART_CLOCK_OFFSET=+1d VX_PLAIN=1 start_voxcartd --development
replayed_a_day_later "$rec" "$T/upd/session.json" 2

check "the recording was left as recorded" cmp -s "$rec" "$T/recorded.json"
check "voxcart replay reported no sanitizer error" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \"\$1\"" _ "$T/replay.err"
finish
