#!/usr/bin/env bash
# Webhooks with two voxcartd instances on one store: both run the delivery runner, and the
# endpoint's lease lets one at a time deliver to it, so a receiver that always answers 2xx gets
# every event exactly once (by its event ID), in the log's order, whichever instance took the
# order that made it. The log is read in the order events were written, so an event written
# after a later-named one (two writers racing) is not passed over.
. "$(dirname "$0")/lib.sh" "$1"
export VOXCART_WEBHOOK_RETRY_WINDOW=30 VOXCART_WEBHOOK_BACKOFF_MS=200
. "$(dirname "$0")/merchant.inc.sh"
BASE_A=$BASE
start_voxcartd
BASE_B=$BASE
FULL=$(tok --merchant demo)

node "$SRC/tests/e2e/webhook_receiver.js" "$T/received.jsonl" 0 >"$T/receiver.out" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q listening "$T/receiver.out"
RPORT=$(sed -n 's/^listening //p' "$T/receiver.out")
curl -s --cacert "$CA/root.pem" -o /dev/null -H "Authorization: Bearer $FULL" \
  -H 'Content-Type: application/json' --data-binary "{\"url\":\"http://127.0.0.1:$RPORT/hooks\"}" \
  "$BASE_A/v1/webhook_endpoints"

N=12
for i in $(seq 1 "$N"); do # orders by voice, half through each instance
  base=$BASE_A
  [ $((i % 2)) = 0 ] && base=$BASE_B
  for f in order.json yes.json; do
    sed -e "s/demo-000[0-9]/$RANDOM$RANDOM/g" -e "s/DEMOUSER/TWO$i/g" "$SRC/scripts/demo/$f" >"$T/turn.json"
    "$VOXCART" sign --dir "$CA" --restamp --url "$base/alexa" "$T/turn.json" >/dev/null 2>&1
  done
done
events() { curl -s --cacert "$CA/root.pem" -H "Authorization: Bearer $FULL" "$BASE_B/v1/events?limit=100" | jq '.data | length'; }
check "the log holds one order.created per order" [ "$(events)" = "$N" ]
got_all() { [ "$(wc -l <"$T/received.jsonl" 2>/dev/null || echo 0)" -ge "$N" ]; }
check "the receiver gets them all" wait_for 30 got_all
sleep 2 # time for a second copy, if any instance were to send one
ids() { jq -r '.headers["voxcart-event-id"]' "$T/received.jsonl"; }
check "... each exactly once, with two runners on one store" all_of \
  [ "$(ids | wc -l)" = "$N" ] -- [ "$(ids | sort -u | wc -l)" = "$N" ]
log_ids() { curl -s --cacert "$CA/root.pem" -H "Authorization: Bearer $FULL" "$BASE_A/v1/events?limit=100" | jq -r '.data[].id'; }
check "... in the log's order (the order the events were written, whoever wrote them)" \
  [ "$(ids | paste -sd,)" = "$(log_ids | paste -sd,)" ]
finish
