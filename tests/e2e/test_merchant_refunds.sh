#!/usr/bin/env bash
# Refunds through the merchant API against the payment sandbox: an order placed by voice and
# paid (the customer's pay link approved, the payment janitor's charge), refunded in
# part, the same request replayed by its Idempotency-Key (one refund in the sandbox), an
# over-refund refused with a stable code, the rest refunded in full, and the order's ledger
# telling all of it.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/merchant_pay.inc.sh"
refund() { # refund TOKEN BODY [curl args...]
  local t=$1 b=$2; shift 2
  call "$t" POST "/v1/shops/corner_coffee/orders/$ORDER/refunds" \
    -H 'Content-Type: application/json' --data-binary "$b" "$@"
}
sandbox_refunds() { sim GET "refunds?chargeId=$CHARGE"; jq '.refunds | length' <<<"$BODY"; }

# an order by voice, then paid: 2 large lattes, 900 EUR cents
voice_order ALICE
check "the voice order is there" all_of [ -n "$ORDER" ] -- [ "$ORDER" != null ]
refund "$FULL" '{"amount":100}'
check "an order that is not paid cannot be refunded: 409 order_not_refundable" code_is 409 order_not_refundable
pay_order ALICE
check "the sandbox captured 9.00 EUR" [ -n "$CHARGE" ]
check "the order is PAID" [ "$(rcli hget "vx:{amzn1.ask.skill.voxcart-demo:amzn1.ask.account.ALICE}:order:$ORDER" state)" = '"PAID"' ]

refund "$READ" '{"amount":300}'
check "scope read cannot refund: 403" code_is 403 insufficient_scope
refund "$OTHER" '{"amount":300}'
check "another merchant cannot refund it: 404" code_is 404 not_found
refund "$FULL" '{"amount":0}'
check "amount 0: 422 naming amount" all_of code_is 422 validation_failed -- [ "$(jq -r .error.field <<<"$BODY")" = amount ]
refund "$FULL" '{"amount":300,"currency":"USD"}'
check "another currency than the order's: 422 naming currency" all_of code_is 422 validation_failed -- \
  [ "$(jq -r .error.field <<<"$BODY")" = currency ]

refund "$FULL" '{"amount":300}' -H 'Idempotency-Key: refund-1'
check "a partial refund of 300: 201, the order PARTIALLY_REFUNDED" all_of [ "$STATUS" = 201 ] -- \
  [ "$(jq -c '[.amount, .currency, .order_state, .refunded]' <<<"$BODY")" = '[300,"EUR","PARTIALLY_REFUNDED",300]' ]
first=$BODY
refund "$FULL" '{"amount":300}' -H 'Idempotency-Key: refund-1'
check "the same request with the same key: the same answer" all_of [ "$STATUS" = 201 ] -- [ "$BODY" = "$first" ]
check "... and one refund in the sandbox" [ "$(sandbox_refunds)" = 1 ]
refund "$FULL" '{"amount":301}' -H 'Idempotency-Key: refund-1'
check "the same key with another amount: 422 idempotency_key_reused" code_is 422 idempotency_key_reused
refund "$FULL" '{"amount":601}'
check "more than is left of the capture (600): 422 refund_exceeds_captured" code_is 422 refund_exceeds_captured
check "... and nothing reached the sandbox" [ "$(sandbox_refunds)" = 1 ]
refund "$FULL" '{"amount":600}' -H 'Idempotency-Key: refund-2'
check "the rest, 600: 201, the order REFUNDED" all_of [ "$STATUS" = 201 ] -- \
  [ "$(jq -c '[.order_state, .refunded]' <<<"$BODY")" = '["REFUNDED",900]' ]
check "two refunds in the sandbox, 3.00 and 6.00 EUR" [ "$(sandbox_refunds)" = 2 ]
refund "$FULL" '{"amount":1}'
check "a refunded order cannot be refunded again: 409 order_not_refundable" code_is 409 order_not_refundable
call "$READ" GET "/v1/shops/corner_coffee/orders/$ORDER"
check "the order's ledger: CONFIRMED, CHARGE_PENDING, PAID, PARTIALLY_REFUNDED, REFUNDED" \
  [ "$(jq -c '[.ledger[] | [.to, .actor, .amount]]' <<<"$BODY")" = '[["CONFIRMED","customer",900],["CHARGE_PENDING","customer",900],["PAID","janitor",900],["PARTIALLY_REFUNDED","merchant",300],["REFUNDED","merchant",600]]' ]
check "... refunded 900 of 900 captured, nothing pending" \
  [ "$(jq -c '[.refunded, .captured, .refund_pending]' <<<"$BODY")" = '[900,900,null]' ]
CHARGE=$(jq -r .charge_id <<<"$BODY")
call "$READ" GET /v1/events
check "the event log: the order created, paid, then refunded twice, each event with its ID" all_of \
  [ "$(jq -c '[.data[] | [.type, .shop_id]]' <<<"$BODY")" = '[["order.created","corner_coffee"],["order.paid","corner_coffee"],["order.refunded","corner_coffee"],["order.refunded","corner_coffee"]]' ] -- \
  [ "$(jq -r '[.data[].id] | unique | length' <<<"$BODY")" = 4 ]
check "... order.paid carries the order, its attempt, 900 EUR and the charge" \
  [ "$(jq -c '.data[1].data | [.order_id, .state, .attempt, .total, .currency, .charge_id]' <<<"$BODY")" = "[\"$ORDER\",\"PAID\",1,900,\"EUR\",\"$CHARGE\"]" ]
check "... the refunds' events carry the refunds: 300, then 600 with the order REFUNDED" \
  [ "$(jq -c '[.data[2:][] | [.data.refund.amount, .data.refund.order_state]]' <<<"$BODY")" = '[[300,"PARTIALLY_REFUNDED"],[600,"REFUNDED"]]' ]
check "... and the replayed refund made no event of its own" [ "$(jq '.data | length' <<<"$BODY")" = 4 ]
call "$READ" GET "/v1/events?limit=1"
check "the log is paged like every list" all_of [ "$(jq '.data | length' <<<"$BODY")" = 1 ] -- \
  [ "$(jq -r .next_cursor <<<"$BODY")" = "$(jq -r '.data[0].id' <<<"$BODY")" ]
call "$OTHER" GET /v1/events
check "another merchant's log is empty" [ "$(jq -c .data <<<"$BODY")" = '[]' ]
finish
