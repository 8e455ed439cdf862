#!/usr/bin/env bash
# Customers' billing agreements through the merchant API, found by one of their orders: read,
# and closed through the provider (the sandbox's charge permission Closed, the profile's
# agreement recorded Closed, an event); closing again is refused with a stable code.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/merchant_pay.inc.sh"
permission_state() {
  "$BUILD/it_provider_client" --url "$PS_URL/sandbox/v2" --key-id "$KEY_ID" --key "$KEY_FILE" \
    permission-get "$PERM" | sed -n 's/^state=//p'
}

voice_order BOB
BOB_ORDER=$ORDER
voice_order ALICE
pay_order ALICE # the pay link approved: the agreement is saved in ALICE's profile
PERM=$(rcli hget 'vx:{amzn1.ask.skill.voxcart-demo:amzn1.ask.account.ALICE}:profile' billing_agreement | jq -r .id)
AG="/v1/shops/corner_coffee/orders/$ORDER/billing_agreement"

call "$READ" GET "$AG"
check "the agreement of the order's customer is read" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.order_id, .billing_agreement.id, .billing_agreement.status]' <<<"$BODY")" = "[\"$ORDER\",\"$PERM\",\"Chargeable\"]" ]
call "$READ" GET "/v1/shops/corner_coffee/orders/$BOB_ORDER/billing_agreement"
check "a customer without one: 404" code_is 404 not_found
call "$OTHER" GET "$AG"
check "another merchant: 404" code_is 404 not_found
call "$READ" POST "$AG/close"
check "scope read cannot close it: 403" code_is 403 insufficient_scope
check "the sandbox's permission is chargeable before" [ "$(permission_state)" = Chargeable ]
call "$FULL" POST "$AG/close" -H 'Idempotency-Key: close-1'
check "closing it: 200, the agreement Closed with the time" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.billing_agreement.id, .billing_agreement.status, (.billing_agreement.closed_at > 0)]' <<<"$BODY")" = "[\"$PERM\",\"Closed\",true]" ]
check "... closed in the sandbox" [ "$(permission_state)" = Closed ]
check "... and in the customer's profile" \
  [ "$(rcli hget 'vx:{amzn1.ask.skill.voxcart-demo:amzn1.ask.account.ALICE}:profile' billing_agreement | jq -r .status)" = Closed ]
first=$BODY
call "$FULL" POST "$AG/close" -H 'Idempotency-Key: close-1'
check "the same POST with the same key: the stored answer" all_of [ "$STATUS" = 200 ] -- [ "$BODY" = "$first" ]
call "$FULL" POST "$AG/close"
check "closing it again: 409 billing_agreement_closed" code_is 409 billing_agreement_closed
call "$READ" GET /v1/events
check "the event log has billing_agreement.closed" \
  [ "$(jq -r '[.data[] | select(.type == "billing_agreement.closed") | .data.billing_agreement.id] | join(",")' <<<"$BODY")" = "$PERM" ]
sim GET "charges?chargePermissionId=$PERM"
charges_before=$(jq '.charges | length' <<<"$BODY")
voice_order ALICE
check "after the close, the customer's next yes is a pay link, not a charge" \
  [ "$(rcli hget "vx:{amzn1.ask.skill.voxcart-demo:amzn1.ask.account.ALICE}:order:$ORDER" checkout_session_id | jq -r .)" != null ]
sim GET "charges?chargePermissionId=$PERM"
check "... and the closed permission was not charged" [ "$(jq '.charges | length' <<<"$BODY")" = "$charges_before" ]
finish
