#!/usr/bin/env bash
# What an order's payment came to reaches its merchant as an event (order.paid, .declined,
# .failed, .canceled), one per order, attempt and outcome: a pay link paid by the janitor, an
# order charged in the turn, a soft decline (the shop's simulation) and the second attempt that
# pays it, a declined pay link. And a lost one is made again: with the order's index entry and
# its events removed from Redis right after the turn (as a process that died between the
# order's write and the merchant's would leave them), the payment janitor, looking at the
# order it scheduled, writes them again with the same IDs, and the log holds each once.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/merchant_pay.inc.sh"

EVENTS="vx:{m:demo}:events"
events_of() { # events_of ORDER: "type attempt state" of each of its events, in log order
  call "$READ" GET "/v1/events?limit=100"
  jq -r --arg o "$1" '.data[] | select(.data.order_id == $o) | [.type, (.data.attempt // "-"), .data.state] | join(" ")' <<<"$BODY" | paste -sd, -
}
event_field() { # event_field ORDER TYPE FIELD
  call "$READ" GET "/v1/events?limit=100"
  jq -r --arg o "$1" --arg t "$2" --arg f "$3" '.data[] | select(.data.order_id == $o and .type == $t) | .data[$f]' <<<"$BODY"
}
order_doc() { rcli hget "vx:{amzn1.ask.skill.voxcart-demo:amzn1.ask.account.$1}:order:$ORDER" "$2" | jq -r .; }
yes_again() { # yes_again USER: one more yes in USER's conversation
  sed -e "s/demo-000[0-9]/$RANDOM$RANDOM/g" -e "s/DEMOUSER/$1/g" "$SRC/scripts/demo/yes.json" >"$T/turn.json"
  "$VOXCART" sign --dir "$CA" --restamp --url "$BASE/alexa" "$T/turn.json" >"$T/yes.out" 2>&1
}

# --- a pay link, paid by the janitor ---
voice_order ALICE
pay_order ALICE
FIRST=$ORDER
check "a pay link paid by the janitor: order.created, then order.paid (attempt 1, PAID)" \
  [ "$(events_of "$FIRST")" = "order.created - CONFIRMED,order.paid 1 PAID" ]
check "... order.paid carries the total, the currency and the charge" \
  [ "$(event_field "$FIRST" order.paid total) $(event_field "$FIRST" order.paid currency) $(event_field "$FIRST" order.paid charge_id)" = "900 EUR $CHARGE" ]

# --- charged in the turn ---
voice_order ALICE
check "the next order is charged in the turn" [ "$(order_doc ALICE state)" = PAID ]
check "... its events: created, then paid by the turn" \
  [ "$(events_of "$ORDER")" = "order.created - CONFIRMED,order.paid 1 PAID" ]
check "... the event's charge is the order's" [ "$(event_field "$ORDER" order.paid charge_id)" = "$(order_doc ALICE charge_id)" ]
check "... at the moment the order's outcome was recorded" \
  [ "$(call "$READ" GET "/v1/events?limit=100"; jq -r --arg o "$ORDER" '.data[] | select(.data.order_id == $o and .type == "order.paid") | .created_at' <<<"$BODY")" = "$(order_doc ALICE settled_at)" ]

# --- a soft decline, then the second attempt pays ---
call "$FULL" PUT /v1/shops/corner_coffee/simulation -H 'Content-Type: application/json' \
  --data-binary '{"code":"SoftDeclined"}'
check "the shop arms a soft decline for its next charge" [ "$STATUS" = 200 ]
voice_order ALICE
check "the order is DECLINED" [ "$(order_doc ALICE state)" = DECLINED ]
check "... order.declined, attempt 1, with the provider's reason" all_of \
  [ "$(events_of "$ORDER")" = "order.created - CONFIRMED,order.declined 1 DECLINED" ] -- \
  [ "$(event_field "$ORDER" order.declined reason)" = SoftDeclined ]
yes_again ALICE
check "yes tries once more: PAID" [ "$(order_doc ALICE state)" = PAID ]
check "... order.paid for attempt 2 after the decline of attempt 1" \
  [ "$(events_of "$ORDER")" = "order.created - CONFIRMED,order.declined 1 DECLINED,order.paid 2 PAID" ]

# --- a pay link the buyer declines: order.canceled ---
voice_order BOB
session=$(order_doc BOB checkout_session_id)
sim POST "checkoutSessions/$session/decline" '{}'
canceled() { [ "$(order_doc BOB state)" = CANCELED ]; }
check "a declined pay link: the janitor cancels the order" wait_for 20 canceled
told_canceled() { [ "$(events_of "$ORDER")" = "order.created - CONFIRMED,order.canceled 1 CANCELED" ]; }
check "... and tells it: order.canceled" wait_for 5 told_canceled

# --- lost between the order's write and the merchant's: the janitor writes them again ---
voice_order ALICE
LOST=$ORDER
ids=$(rcli zrange "$EVENTS:idx" 0 -1 | grep "${LOST//-/_}" | paste -sd' ')
for id in $ids; do rcli hdel "$EVENTS" "$id" >/dev/null; rcli zrem "$EVENTS:idx" "$id" >/dev/null; done
rcli hdel "vx:{m:demo}:orders:corner_coffee" "$LOST" >/dev/null
rcli zrem "vx:{m:demo}:orders:corner_coffee:idx" "$LOST" >/dev/null
check "the turn's two events were in the log (and are now removed)" [ "$(wc -w <<<"$ids")" = 2 ]
check "... the order is gone from the shop's orders and the log" all_of \
  [ "$(call "$READ" GET "/v1/shops/corner_coffee/orders/$LOST"; echo "$STATUS")" = 404 ] -- \
  [ -z "$(events_of "$LOST")" ]
told_again() { [ "$(events_of "$LOST")" = "order.created - CONFIRMED,order.paid 1 PAID" ]; }
check "the janitor looks at the order it scheduled and writes both events again" wait_for 20 told_again
check "... with the same IDs" [ "$(rcli zrange "$EVENTS:idx" 0 -1 | grep "${LOST//-/_}" | sort | paste -sd' ')" = "$(tr ' ' '\n' <<<"$ids" | sort | paste -sd' ')" ]
call "$READ" GET "/v1/shops/corner_coffee/orders/$LOST"
check "... and the order is in the shop's orders again, PAID" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -r .state <<<"$BODY")" = PAID ]
sleep 1
call "$READ" GET "/v1/events?limit=100"
check "every event of the log is there once" \
  [ "$(jq '.data | length' <<<"$BODY")" = "$(jq '[.data[].id] | unique | length' <<<"$BODY")" ]
check "the orders told again by the janitor are not told twice (each of FIRST's events once)" \
  [ "$(events_of "$FIRST")" = "order.created - CONFIRMED,order.paid 1 PAID" ]
finish
