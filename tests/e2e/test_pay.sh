#!/usr/bin/env bash
# Paying by voice on the provider rail, against voxcart-paysim: yes to the summary charges the
# customer's saved charge permission in the turn. Counted at the sandbox's own ledger: a paid
# order is one Captured charge and a PAID order with its ledger; a soft and a hard decline are
# one Declined charge each and a DECLINED order (the hard one marks the permission not
# chargeable: the next yes asks the provider, charges nothing while it is still not
# chargeable, and charges in the turn once the buyer fixed it); a customer without a
# permission gets a pay link and nobody is charged; an answer the sandbox dropped after taking
# the charge leaves the order CHARGE_PENDING with the janitor's entry and still exactly one
# charge; two devices saying yes at once make one charge.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"

. "$SRC/tests/e2e/pay.inc.sh"

make_devca
start_redis
start_pay_sandbox
export VOXCART_JANITOR_INTERVAL_MS=300
start_voxcartd

lacks() { ! contains "$@"; }
launch=$(make_request launch LaunchRequest)
sed 's/"name":"OrderIntent","confirmationStatus":"NONE"}/"name":"OrderIntent","confirmationStatus":"NONE","slots":{"product":{"name":"product","value":"espresso"},"quantity":{"name":"quantity","value":"2"}}}/' \
  "$(make_request order OrderIntent)" >"$T/espresso.json"
yes_req=$(make_request yes AMAZON.YesIntent)

# --- paid in the turn ---
permission alice card-ok
order_and_yes alice
check "yes with a saved permission is answered HTTP 200" [ "$STATUS" = 200 ]
check "the customer hears the charge" contains "$BODY" "charged 5 euros"
check "the receipt card names the total and the day" contains "$BODY" "Paid $(date -u +%Y-%m-%d)"
check "the sandbox's ledger holds exactly one charge" [ "$(charges "$PERM")" = 1 ]
check "and it is captured" [ "$(charges "$PERM" Captured)" = 1 ]
sim GET "charges?chargePermissionId=$PERM"
check "of the order's amount (2 x 2.50 EUR)" [ "$(jq -r '(if type == "array" then . else .charges end)[0].chargeAmount.amount' <<<"$BODY")" = "5.00" ]
check "the order is PAID" [ "$(order_field alice state)" = '"PAID"' ]
check "with what was captured" [ "$(order_field alice captured)" = 500 ]
check "and the provider's charge ID" [ -n "$(order_field alice charge_id)" ]
check "its ledger: CONFIRMED, CHARGE_PENDING, PAID" [ "$(ledger_states alice)" = "CONFIRMED,CHARGE_PENDING,PAID" ]
key=$(order_field alice pay_key)
check "the attempt's key was stored with the order" [ "$key" = "\"$(last_order alice)-1\"" ]

# --- soft decline ---
permission bob card-soft-decline
order_and_yes bob
check "a soft decline is told as such" contains "$BODY" "go through this time"
check "one declined charge at the sandbox" [ "$(charges "$PERM" Declined)" = 1 ]
check "the order is DECLINED" [ "$(order_field bob state)" = '"DECLINED"' ]
check "nobody is told it was paid" bash -c '! grep -q "I.*ve charged" <<<"$0"' "$BODY"
check "and is offered one more try" contains "$BODY" "Shall I try once more?"
key1=$(order_field bob pay_key)
sim POST "chargePermissions/$PERM/fix" '{"instrument":"card-ok"}'
signed "$(as_user bob "$(make_request yes AMAZON.YesIntent)")" --restamp
check "yes tries again and is charged" contains "$BODY" "charged 5 euros"
check "with a new attempt and a new key" all_of [ "$(order_field bob pay_key)" = "\"$(last_order bob)-2\"" ] -- [ "$key1" != "$(order_field bob pay_key)" ]
check "the order is PAID after the second attempt" [ "$(order_field bob state)" = '"PAID"' ]
check "its ledger shows both attempts" [ "$(ledger_states bob)" = "CONFIRMED,CHARGE_PENDING,DECLINED,CHARGE_PENDING,PAID" ]
check "the sandbox holds one declined and one captured charge" [ "$(charges "$PERM" Declined) $(charges "$PERM" Captured)" = "1 1" ]
signed "$(as_user bob "$(make_request yes AMAZON.YesIntent)")" --restamp
check "a further yes charges nothing more" [ "$(charges "$PERM")" = 2 ]

# --- soft declined twice: one more try only ---
permission ivy card-soft-decline
order_and_yes ivy
signed "$(as_user ivy "$(make_request yes AMAZON.YesIntent)")" --restamp
check "a second soft decline is final" contains "$BODY" "Please try again in a little while"
check "two declined attempts at the sandbox" [ "$(charges "$PERM" Declined)" = 2 ]
signed "$(as_user ivy "$(make_request yes AMAZON.YesIntent)")" --restamp
check "and no third" [ "$(charges "$PERM")" = 2 ]
check "the order stays DECLINED" [ "$(order_field ivy state)" = '"DECLINED"' ]

# --- hard decline: the permission is marked; no charge until the provider says it is fixed ---
permission carol card-hard-decline
order_and_yes carol
check "a hard decline says how to fix it" contains "$BODY" "Update your payment method"
check "the order is DECLINED after a hard decline" [ "$(order_field carol state)" = '"DECLINED"' ]
check "the permission is marked not chargeable, with the reason" \
  [ "$(rcli HGET "$(profile_key carol)" billing_agreement | jq -c '[.status, .reason]')" = '["NonChargeable","HardDeclined"]' ]
order_and_yes carol
check "the next yes reads the permission (still not chargeable): nothing charged, how to fix it again" all_of \
  contains "$BODY" "Update your payment method" -- [ "$(order_field carol state)" = '"DECLINED"' ] -- \
  grep -q "saved permission $PERM is still NonChargeable" "$T/voxcartd.log"
check "still exactly one charge for that permission" [ "$(charges "$PERM")" = 1 ]
sim POST "chargePermissions/$PERM/fix" '{"instrument":"card-ok"}'
check "the buyer fixes the payment method at the sandbox" [ "$STATUS" = 200 ]
order_and_yes carol
check "the next yes finds it chargeable again: charged in the turn" all_of paid carol -- \
  contains "$BODY" "receipt" -- [ "$(charges "$PERM" Captured)" = 1 ] -- [ "$(charges "$PERM")" = 2 ]
check "... and the permission is marked chargeable again" \
  [ "$(rcli HGET "$(profile_key carol)" billing_agreement | jq -c '[.status, .reason]')" = '["Chargeable",null]' ]
# marked again; the permission cannot be read in the turn: nothing charged, FAILED
rcli HSET "$(profile_key carol)" billing_agreement "{\"id\":\"$PERM\",\"status\":\"NonChargeable\",\"reason\":\"HardDeclined\"}" >/dev/null
sim POST faults '{"operation":"getChargePermission","kind":"status","status":503,"count":5}'
order_and_yes carol
check "a permission that cannot be read is not charged: FAILED, still two charges" all_of \
  [ "$(order_field carol state)" = '"FAILED"' ] -- contains "$BODY" "couldn" -- [ "$(charges "$PERM")" = 2 ]
sim DELETE faults
# closed at the provider meanwhile: a pay link for a new permission, and it is recorded Closed
sim POST "chargePermissions/$PERM/state" '{"state":"Closed","reasonCode":"BuyerClosed"}'
order_and_yes carol
check "a permission closed at the provider: a pay link instead, the permission recorded Closed" all_of \
  contains "$BODY" "/checkout/" -- [ "$(order_field carol state)" = '"CHARGE_PENDING"' ] -- \
  [ "$(rcli HGET "$(profile_key carol)" billing_agreement | jq -r .status)" = Closed ] -- \
  [ "$(charges "$PERM")" = 2 ]

# --- no permission: a pay link ---
order_and_yes dave
check "a first-time customer gets a pay link card" contains "$BODY" "/checkout/"
check "and hears how to approve it" contains "$BODY" "approve the payment once"
check "the order waits as CHARGE_PENDING" [ "$(order_field dave state)" = '"CHARGE_PENDING"' ]
session=$(order_field dave checkout_session_id | tr -d '"')
check "with its checkout session" [ -n "$session" ]
sim POST "checkoutSessions/$session/approve" '{"buyerId":"buyer-alice","instrument":"card-ok"}'
check "the buyer approves it at the sandbox" [ "$STATUS" = 200 ]
check "the janitor completes the session: the order is PAID" wait_for 15 paid dave
check "with the charge's ledger entry by the janitor" \
  contains "$(rcli LRANGE "vx:{$SKILL:amzn1.ask.account.dave}:ledger:$(last_order dave)" -1 -1)" '"actor":"janitor"'
dave_perm=$(rcli HGET "$(profile_key dave)" billing_agreement | jq -r .id)
check "and the approved permission is saved as chargeable" \
  contains "$(rcli HGET "$(profile_key dave)" billing_agreement)" '"Chargeable"'
check "one charge for it at the sandbox" [ "$(charges "$dave_perm")" = 1 ]
dave_first=$(last_order dave)
signed "$(as_user dave "$launch")" --restamp
check "the next visit tells what the pay link came to, once" all_of \
  contains "$BODY" "Good news: your payment of 5 euros for order $dave_first went through." -- \
  [ -z "$(rcli HGET "$(profile_key dave)" pay_untold)" ]
signed "$(as_user dave "$launch")" --restamp
check "... and not on the visit after" lacks "$BODY" "Good news"
order_and_yes dave
check "the next yes is charged in the turn" contains "$BODY" "charged 5 euros"
check "two charges for it now, one per order" [ "$(charges "$dave_perm")" = 2 ]

# --- the sandbox takes the charge and drops the answer (twice: libcurl resends a request
# whose reused connection died once, with the same key, and gets the stored answer) ---
permission erin card-ok
sim POST faults '{"operation":"createCharge","kind":"drop","count":2}'
order_and_yes erin
check "a lost answer is told as pending" contains "$BODY" "still finishing your payment"
check "the order stays CHARGE_PENDING" [ "$(order_field erin state)" = '"CHARGE_PENDING"' ]
check "the janitor's entry names it" bash -c 'for b in 0 1 2 3 4 5 6 7; do redis-cli -p "$0" ZRANGE "vx:{pay:$b}:pending" 0 -1; done | grep -q "$1"' \
  "$REDIS_PORT" "$(last_order erin)"
check "exactly one charge at the sandbox" [ "$(charges "$PERM")" = 1 ]
check "the janitor settles it by asking again with the same key: PAID" wait_for 15 paid erin
check "and still exactly one charge" [ "$(charges "$PERM")" = 1 ]
signed "$(as_user erin "$launch")" --restamp
check "the next visit tells the customer it went through after all" \
  contains "$BODY" "for order $(last_order erin) went through"

# --- a charge left pending that ends hard declined: the janitor marks the permission ---
permission hank card-pending-declined
order_and_yes hank
check "a pending charge is told as pending" contains "$BODY" "still finishing your payment"
sim POST clock '{"advanceSeconds":60}' # the sandbox settles pending charges after 30 s
check "the janitor settles it: DECLINED" \
  wait_for 15 bash -c '[ "$(redis-cli -p "$0" HGET "$1" state)" = "\"DECLINED\"" ]' "$REDIS_PORT" \
  "vx:{$SKILL:amzn1.ask.account.hank}:order:$(last_order hank)"
check "and marks the saved permission not chargeable, with the reason" \
  [ "$(rcli HGET "$(profile_key hank)" billing_agreement | jq -c '[.status, .reason]')" = '["NonChargeable","HardDeclined"]' ]
sim POST clock '{"advanceSeconds":-60}'

# --- a pay link that is not approved: the order is canceled, and the next visit says so ---
order_and_yes gus
session=$(order_field gus checkout_session_id | tr -d '"')
signed "$(as_user gus "$launch")" --restamp
check "while the pay link waits, a visit tells nothing of it" all_of lacks "$BODY" "order $(last_order gus)" -- \
  [ -n "$(rcli HGET "$(profile_key gus)" pay_untold)" ]
sim POST "checkoutSessions/$session/decline" '{}'
check "the buyer declines it at the sandbox: the janitor cancels the order" \
  wait_for 15 bash -c '[ "$(redis-cli -p "$0" HGET "$1" state)" = "\"CANCELED\"" ]' "$REDIS_PORT" \
  "vx:{$SKILL:amzn1.ask.account.gus}:order:$(last_order gus)"
signed "$(as_user gus "$launch")" --restamp
check "the next visit says the order was canceled and nothing was charged" \
  contains "$BODY" "About order $(last_order gus): the payment of 5 euros wasn&apos;t approved, so that order was canceled"

# --- two devices say yes at once ---
permission fay card-ok
signed "$(as_user fay "$launch")" --restamp
signed "$(as_user fay "$T/espresso.json")" --restamp
y1=$(as_user fay "$yes_req")
y2=$(as_user fay "$(make_request yes2 AMAZON.YesIntent)")
"$VOXCART" sign --dir "$CA" --url "$BASE/alexa" --restamp "$y1" >"$T/y1" 2>/dev/null &
p1=$!
"$VOXCART" sign --dir "$CA" --url "$BASE/alexa" --restamp "$y2" >"$T/y2" 2>/dev/null &
p2=$!
wait "$p1" "$p2"
n=$(charges "$PERM")
check "two yes at once make one charge (made: $n)" [ "$n" = 1 ]

# --- the provider's notification: a forged one is refused, a signed one settles at once ---
code=$(curl -s -o "$T/n.out" -w '%{http_code}' --cacert "$CA/root.pem" -X POST \
  -H 'content-type: application/json' --data '{"Message":"{}"}' "$BASE/provider/notifications")
check "an unsigned notification is refused (401)" [ "$code" = 401 ]
code=$(curl -s -o "$T/n.out" -w '%{http_code}' --cacert "$CA/root.pem" -X POST \
  -H 'content-type: application/json' -H "x-amz-pay-date: $(date -u +%Y%m%dT%H%M%SZ)" \
  -H 'authorization: AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=paysim-notify, SignedHeaders=content-type;x-amz-pay-date, Signature=AAAA' \
  --data '{"Message":"{}"}' "$BASE/provider/notifications")
check "a forged notification is refused (401)" [ "$code" = 401 ]
check "with a stable code" grep -q '"code":"signature_' "$T/n.out"
sim POST merchants "$(jq -n --arg m "$MERCHANT" --arg k "$KEY_ID" --rawfile p "$T/$MERCHANT.pub" \
  --arg u "$BASE/provider/notifications" '{merchantId:$m, publicKeyId:$k, publicKeyPem:$p, notifyUrl:$u}')"
order_and_yes gina
session=$(order_field gina checkout_session_id | tr -d '"')
sim POST "checkoutSessions/$session/approve" '{"buyerId":"buyer-bob","instrument":"card-ok"}'
check "the approval is notified and the order is PAID" wait_for 20 paid gina
check "the notification was verified and acted on" grep -q "provider notification" "$T/voxcartd.log"
sim GET notifications
check "the sandbox saw it answered 2xx" [ "$(jq '[.notifications[] | select(.delivered == true)] | length' <<<"$BODY")" -ge 1 ]
# the provider delivers at least once: every notification about gina's order, sent again
ledger_gina() { rcli LRANGE "vx:{$SKILL:amzn1.ask.account.gina}:ledger:$(last_order gina)" 0 -1; }
before_ledger=$(ledger_gina)
gina_perm=$(rcli HGET "$(profile_key gina)" billing_agreement | jq -r .id)
sent_before=$(grep -c "provider notification" "$T/voxcartd.log")
for seq in $(jq -r '.notifications[] | select(.delivered == true) | .seq' <<<"$BODY"); do
  sim POST "notifications/$seq/redeliver" '{}'
done
check "the sandbox sends its notifications again, and voxcartd verifies them again" \
  wait_for 20 bash -c '[ "$(grep -c "provider notification" "$0")" -gt "$1" ]' "$T/voxcartd.log" "$sent_before"
sleep 1 # the janitor's pass they wake
check "... which changes nothing: one PAID order, the same ledger, one charge at the sandbox" all_of \
  paid gina -- [ "$(ledger_gina)" = "$before_ledger" ] -- [ "$(charges "$gina_perm")" = 1 ]

finish
