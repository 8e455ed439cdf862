#!/usr/bin/env bash
# End to end: a whole ordering conversation recorded by voxcartd in development
# mode replays at once, and again "a day later" with the clock of voxcartd and
# of replay moved by a day: the order voxcart makes (its ID carries the date) is
# a run variable captured from the answer that first shows it and sent back in a
# later request that names it (the platform's answer to a directive, in a new
# session recorded into the same conversation). --update on the passing recording changes nothing;
# on a fixture holding a literal order ID it writes the variable.
. "$(dirname "$0")/lib.sh" "$1"

REC_USER=amzn1.ask.account.E2EVARSUSER
REC_SESSION=amzn1.echo-api.session.E2E-VARS
REC_DEVICE=amzn1.ask.device.E2EVARSDEVICE
SESSION=$REC_SESSION
. "$SRC/tests/e2e/record.inc.sh"

make_devca
start_redis
export VOXCART_RECORD_DIR="$T/rec"
VX_PLAIN=1 start_voxcartd --development

# --- the live conversation, recorded ---
send true "$LAUNCH"
check "launch answered" [ "$STATUS" = 200 ]
send false "$(intent OrderIntent "{$(slot product lattes latte),$(slot size large large),$(slot quantity 2)}")"
check "the order is read back" contains "$BODY" "Shall I place the order"
send false "$(intent AMAZON.YesIntent)"
check "yes places the order" contains "$BODY" "placed your order"
order=$(grep -oE 'o[0-9]{8}-[0-9a-f]{10}' <<<"$BODY" | head -n 1)
check "the receipt card names the order" [ -n "$order" ]
check "the order ID carries today's date" [ "${order:1:8}" = "$(date -u +%Y%m%d)" ]
send false "$(intent OrderStatusIntent)"
check "what did I order is answered" contains "$BODY" "Your last order"
# the platform answers a payment directive in a new session, with the token naming the order
send true "{\"type\":\"Connections.Response\",\"requestId\":\"@RID@\",\"timestamp\":\"@TS@\",\"locale\":\"en-US\",\"name\":\"Charge\",\"status\":{\"code\":\"200\",\"message\":\"OK\"},\"payload\":{},\"token\":\"$order\"}" "$SESSION-2"
check "the connection response is answered" [ "$STATUS" = 200 ]
send false "$(intent AMAZON.NoIntent)" "$SESSION-2"
check "no ends the conversation" contains "$BODY" "Goodbye"

recs=("$T"/rec/*.json)
check "one fixture for the conversation, the session the token opened included" [ "${#recs[@]}" = 1 ]
rec=${recs[0]}
check "the receipt's order is a run variable" grep -q 'Order %ORDER_ID%' "$rec"
check "the token naming the order carries the same variable" grep -q '"token": "%ORDER_ID%"' "$rec"
check "no literal order ID is left in the recording" bash -c "! grep -qE 'o[0-9]{8}-[0-9a-f]{10}' \"\$1\"" _ "$rec"
check "the names are kept beside the fixture, hidden" grep -q "\"ORDER_ID\": \"$order\"" "$T/rec/.$(basename "$rec" .json).vars.json"
check "all six turns are recorded" [ "$(grep -c '"requestId": "%REQUEST_ID%"' "$rec")" = 6 ]
check "in two sessions" [ "$(grep -c "\"sessionId\": \"$SESSION-2\"" "$rec")" = 2 ]

# --- replayed at once (by a server that no longer records) ---
kill -TERM "$VX_PID"; wait "$VX_PID" 2>/dev/null
unset VOXCART_RECORD_DIR
VX_PLAIN=1 start_voxcartd --development
replay "$T/rec"
check "the recording replays at once" [ "$RC" = 0 ]
check "as one conversation (the names file is not one)" has "$OUT" '^1 passed, 0 failed$'
# the request that names the order carries this run's order, in the second session of the same
# customer: made to fail there, -v shows it
sed 's/match that to an order/match NOTHING/' "$rec" >"$T/token.json"
replay -v "$T/token.json"
check "the changed answer fails at the connection response" has "$OUT" '^      turn 5 \(Connections.Response\): '
sent=$(grep -oE '"token": "[^"]*"' <<<"$OUT" | head -n 1)
check "the token sent is an order ID of today" has "$sent" "\"token\": \"o$(date -u +%Y%m%d)-[0-9a-f]{10}\""
check "and not the recorded one: this run's order" bash -c "! grep -q \"\$1\" <<<\"\$2\"" _ "$order" "$sent"

# --- --update on the passing recording changes nothing ---
updated_unchanged "$rec" "$T/upd/session.json"

# ... nor on any fixture of the tree (their patterns and %ANY% stay)
cp -r "$(plain_fixtures)" "$T/tree"
replay --update "$T/tree"
check "--update on every fixture of the tree exits 0" [ "$RC" = 0 ]
check "--update changed no fixture of the tree" diff -r "$(plain_fixtures)" "$T/tree"

# --- --update on an old fixture with a literal order ID writes the variable ---
sed 's/Order %ORDER_ID%/Order o20261130-0123456789/' "$rec" >"$T/upd/literal.json"
replay "$T/upd/literal.json"
check "a literal order ID fails the replay" [ "$RC" = 1 ]
check "the diff shows the card" has "$OUT" 'response\.card\.content$'
replay --update "$T/upd/literal.json"
check "--update re-bases it" has "$OUT" 'updated turn 3 \(IntentRequest AMAZON.YesIntent\): response\.card\.content'
check "--update wrote the run variable" grep -q 'Order %ORDER_ID%' "$T/upd/literal.json"
check "--update wrote it back as recorded" cmp -s "$rec" "$T/upd/literal.json"

# --- a day later: voxcartd's clock and replay's moved by a day ---
kill -TERM "$VX_PID"; wait "$VX_PID" 2>/dev/null
out=$(VOXCART_CLOCK_OFFSET=1d "$VOXCARTD" --check 2>&1); rc=$?
check "a clock offset outside development mode is refused" [ "$rc" != 0 ]
check "the refusal names the variable" contains "$out" "VOXCART_CLOCK_OFFSET: honoured only in development mode"
out=$(VOXCART_CLOCK_OFFSET=tomorrow "$VOXCARTD" --development --check 2>&1); rc=$?
check "a bad clock offset is refused" [ "$rc" != 0 ]
check "the refusal shows the value" contains "$out" "(got 'tomorrow')"
VOXCART_CLOCK_OFFSET=+1d VX_PLAIN=1 start_voxcartd --development
check "voxcartd says its clock is moved" grep -q "CLOCK MOVED: .*+86400 s" "$T/voxcartd.log"
replay "$T/rec"
check "requests stamped with today are stale to the moved server" [ "$RC" = 1 ]
check "and refused for their timestamp" has "$OUT" 'timestamp_future|timestamp_stale'
replayed_a_day_later "$rec" "$T/upd/session.json" 1
replay --clock-offset soon "$T/rec"
check "a bad --clock-offset is a usage error" [ "$RC" = 2 ]

check "voxcart replay reported no sanitizer error" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \"\$1\"" _ "$T/replay.err"
finish
