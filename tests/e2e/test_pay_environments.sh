#!/usr/bin/env bash
# A shop's environment and the sandbox's simulation codes, through the merchant API and by
# voice against the payment sandbox: a simulation code armed for a sandbox shop's next
# charge makes exactly that charge come out so (and is used up by it; a method's own amount
# limit marks the permission until the provider reports it chargeable), a production shop
# refuses simulations, and once the shop is in production its customers' sandbox agreements
# no longer count: the next yes is a pay link at the live endpoints, the charge is a live one,
# and the yes after that is charged in the turn, live.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/merchant_pay.inc.sh"
SHOP=/v1/shops/corner_coffee
CUSTOMER="vx:{amzn1.ask.skill.voxcart-demo:amzn1.ask.account.ALICE}"
simulate() { call "$FULL" PUT "$SHOP/simulation" -H 'Content-Type: application/json' --data-binary "$1"; }
say() { # say FILE: one turn of customer ALICE (scripts/demo/FILE); SAID is the answer
  sed -e "s/demo-000[0-9]/$RANDOM$RANDOM/g" -e "s/DEMOUSER/ALICE/g" "$SRC/scripts/demo/$1" >"$T/turn.json"
  SAID=$("$VOXCART" sign --dir "$CA" --restamp --url "$BASE/alexa" "$T/turn.json" 2>"$T/sign.err")
}
order() { # order: two large lattes and yes; ORDER is its ID
  say order.json
  say yes.json
  ORDER=$(rcli hget "$CUSTOMER:profile" last_order | jq -r .)
}
field() { rcli hget "$CUSTOMER:order:$ORDER" "$1" | jq -r .; }
state_is() { [ "$(field state)" = "$1" ]; }
agreement() { rcli hget "$CUSTOMER:profile" billing_agreement | jq -r "$1"; }
env_of() { # env_of PREFIX KIND ID: the releaseEnvironment of a sandbox object read at PREFIX
  PS_PREFIX=$1 api GET "$2/$3"
  jq -r .releaseEnvironment <<<"$BODY"
}
approve() { # the order's pay link approved by the buyer; the janitor completes it
  sim POST "checkoutSessions/$(field checkout_session_id)/approve" '{"buyerId":"buyer-alice","instrument":"card-ok"}'
  wait_for 20 state_is PAID
}

# a first order: pay link in the sandbox, approved, charged by the janitor
order
approve
check "first order: paid through the pay link in the sandbox" all_of state_is PAID -- \
  [ "$(env_of /sandbox/v2 charges "$(field charge_id)")" = Sandbox ]
check "... the agreement is saved as a sandbox one" all_of [ "$(agreement .environment)" = sandbox ] -- \
  [ "$(agreement .status)" = Chargeable ]
PERM=$(agreement .id)

# simulation codes: validated, scoped to the merchant, used up by one charge
call "$FULL" GET "$SHOP/simulation"
check "no simulation armed: 404" code_is 404 not_found
simulate '{"code":"Bogus"}'
check "an unknown code: 422 naming code" all_of code_is 422 validation_failed -- [ "$(jq -r .error.field <<<"$BODY")" = code ]
simulate '{"code":"SoftDeclined","extra":1}'
check "an unknown field: 422 naming it" all_of code_is 422 validation_failed -- [ "$(jq -r .error.field <<<"$BODY")" = extra ]
call "$OTHER" PUT "$SHOP/simulation" -H 'Content-Type: application/json' --data-binary '{"code":"SoftDeclined"}'
check "another merchant's shop: 404" code_is 404 not_found
simulate '{"code":"SoftDeclined"}'
check "SoftDeclined armed: 200" all_of [ "$STATUS" = 200 ] -- [ "$(jq -r .code <<<"$BODY")" = SoftDeclined ]
call "$FULL" GET "$SHOP/simulation"
check "... and readable" all_of [ "$STATUS" = 200 ] -- [ "$(jq -r .code <<<"$BODY")" = SoftDeclined ]
order
check "the next charge is soft-declined by the sandbox, and the customer is offered one more try" all_of \
  state_is DECLINED -- contains "$SAID" "try once more"
sim GET "charges?chargePermissionId=$PERM"
check "... the sandbox's ledger: one declined charge (SoftDeclined)" \
  [ "$(jq -c '[.charges[] | select(.statusDetails.state == "Declined") | .statusDetails.reasonCode]' <<<"$BODY")" = '["SoftDeclined"]' ]
call "$FULL" GET "$SHOP/simulation"
check "... the code is used up" code_is 404 not_found
say yes.json
check "yes once more: charged normally, paid" all_of state_is PAID -- contains "$SAID" "receipt"

# an amount refused within the provider's own maximum is the payment method's limit: a hard
# decline, so the permission is marked; the next yes asks the provider, which reports it
# chargeable (the sandbox marks only HardDeclined), and charges
simulate '{"code":"TransactionAmountExceeded"}'
order
check "TransactionAmountExceeded for two lattes: DECLINED with the limit's sentence" all_of \
  state_is DECLINED -- contains "$SAID" "above what your payment method allows"
check "... the permission is marked not chargeable, with the reason" \
  [ "$(agreement .status) $(agreement .reason)" = "NonChargeable TransactionAmountExceeded" ]
order
check "... the next yes finds it chargeable at the provider: marked so and charged" all_of \
  state_is PAID -- [ "$(agreement .status) $(agreement .reason)" = "Chargeable null" ]

# production: no simulations, live endpoints, a new agreement
call "$FULL" GET "$SHOP"
shop=$(jq -c '.environment = "production" | del(.created_at)' <<<"$BODY")
call "$FULL" PUT "$SHOP" -H 'Content-Type: application/json' --data-binary "$(jq -c '.environment = "staging"' <<<"$shop")"
check "an unknown environment: 422 naming environment" all_of code_is 422 validation_failed -- \
  [ "$(jq -r .error.field <<<"$BODY")" = environment ]
call "$FULL" PUT "$SHOP" -H 'Content-Type: application/json' --data-binary "$shop"
check "the shop moves to production: 200" all_of [ "$STATUS" = 200 ] -- [ "$(jq -r .environment <<<"$BODY")" = production ]
simulate '{"code":"HardDeclined"}'
check "a production shop refuses simulations: 409 shop_not_sandbox" code_is 409 shop_not_sandbox
order
check "in production the sandbox agreement does not count: a pay link at the live endpoints" all_of \
  state_is CHARGE_PENDING -- [ "$(field environment)" = production ] -- \
  [ "$(env_of /live/v2 checkoutSessions "$(field checkout_session_id)")" = Live ]
approve
check "... approved and charged by the janitor, live" all_of state_is PAID -- \
  [ "$(env_of /live/v2 charges "$(field charge_id)")" = Live ]
check "... the live agreement replaces the sandbox one" all_of [ "$(agreement .environment)" = production ] -- \
  [ "$(agreement .id)" != "$PERM" ]
order
check "the next yes is charged in the turn, live" all_of state_is PAID -- contains "$SAID" "receipt" -- \
  [ "$(env_of /live/v2 charges "$(field charge_id)")" = Live ]
call "$FULL" POST "$SHOP/orders/$ORDER/refunds" -H 'Content-Type: application/json' --data-binary '{"amount":100}'
refund_status=$STATUS refund_id=$(jq -r .id <<<"$BODY")
PS_PREFIX=/live/v2 api GET "refunds/$refund_id"
check "a refund of a live order goes to the live endpoints" \
  all_of [ "$refund_status" = 201 ] -- [ "$(jq -r .releaseEnvironment <<<"$BODY")" = Live ]
finish
