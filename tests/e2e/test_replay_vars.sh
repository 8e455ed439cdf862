#!/usr/bin/env bash
# End to end: a whole ordering conversation recorded by voxcartd in development
# mode replays at once, and again "a day later" with the clock of voxcartd and
# of replay moved by a day: the order voxcart makes (its ID carries the date) is
# a run variable captured from the answer that first shows it and sent back in a
# later request that names it (the platform's answer to a directive, in a new
# session recorded into the same conversation). --update on the passing recording changes nothing;
# on a fixture holding a literal order ID it writes the variable.
. "$(dirname "$0")/lib.sh" "$1"

# replay ARGS...: `voxcart replay` against the development-mode server; sets RC and OUT
replay() {
  OUT=$("$VOXCART" replay --unsigned --url "$BASE/alexa" "$@" 2>>"$T/replay.err")
  RC=$?
  STATUS=$RC BODY=$OUT
}
has() { grep -qE -- "$2" <<<"$1"; }

USER_ID=amzn1.ask.account.E2EVARSUSER
SESSION=amzn1.echo-api.session.E2E-VARS
N=0
# send NEW REQUEST_JSON [SESSION]: one turn of the live conversation (the platform's request
# around it)
send() {
  local session=${3:-$SESSION}
  N=$((N + 1))
  local ts; ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local req=${2/@TS@/$ts}
  req=${req/@RID@/amzn1.echo-api.request.E2EVARS$N}
  cat >"$T/turn$N.json" <<JSON
{"version":"1.0","session":{"new":$1,"sessionId":"$session","application":{"applicationId":"amzn1.ask.skill.test"},"user":{"userId":"$USER_ID"}},"context":{"System":{"application":{"applicationId":"amzn1.ask.skill.test"},"user":{"userId":"$USER_ID"},"device":{"deviceId":"amzn1.ask.device.E2EVARSDEVICE","supportedInterfaces":{}}}},"request":$req}
JSON
  post "$T/turn$N.json"
}
intent() { # intent NAME [SLOTS_JSON]
  echo "{\"type\":\"IntentRequest\",\"requestId\":\"@RID@\",\"timestamp\":\"@TS@\",\"locale\":\"en-US\",\"dialogState\":\"STARTED\",\"intent\":{\"name\":\"$1\",\"confirmationStatus\":\"NONE\",\"slots\":${2:-{\}}}}"
}
slot() { # slot NAME VALUE [ID]: a slot as the platform fills it, resolved when ID is given
  if [ -n "${3:-}" ]; then
    echo "\"$1\":{\"name\":\"$1\",\"confirmationStatus\":\"NONE\",\"value\":\"$2\",\"resolutions\":{\"resolutionsPerAuthority\":[{\"authority\":\"amzn1.er-authority.echo-sdk.amzn1.ask.skill.test.${1^^}\",\"status\":{\"code\":\"ER_SUCCESS_MATCH\"},\"values\":[{\"value\":{\"name\":\"$2\",\"id\":\"$3\"}}]}]}}"
  else
    echo "\"$1\":{\"name\":\"$1\",\"confirmationStatus\":\"NONE\",\"value\":\"$2\"}"
  fi
}

make_devca
start_redis
export VOXCART_RECORD_DIR="$T/rec"
VX_PLAIN=1 start_voxcartd --development

# --- the live conversation, recorded ---
send true '{"type":"LaunchRequest","requestId":"@RID@","timestamp":"@TS@","locale":"en-US"}'
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
mkdir -p "$T/upd"
cp "$rec" "$T/upd/session.json"
replay --update "$T/upd/session.json"
check "--update on a passing recording exits 0" [ "$RC" = 0 ]
check "--update reports no change" bash -c "! grep -q 'updated' <<<\"\$1\"" _ "$OUT"
check "--update left the file byte for byte" cmp -s "$rec" "$T/upd/session.json"

# ... nor on any fixture of the tree (their patterns and %ANY% stay)
cp -r "$SRC/tests/fixtures" "$T/tree"
replay --update "$T/tree"
check "--update on every fixture of the tree exits 0" [ "$RC" = 0 ]
check "--update changed no fixture of the tree" diff -r "$SRC/tests/fixtures" "$T/tree"

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
replay --clock-offset 1d "$T/rec"
check "the recording replays a day later" [ "$RC" = 0 ]
check "a day later: one passed" has "$OUT" '^1 passed, 0 failed$'
tomorrow=$(date -u -d '+1 day' +%Y%m%d)
check "the order made a day later carries tomorrow's date" \
  bash -c "redis-cli -p $REDIS_PORT --scan --pattern 'vx:{amzn1.ask.skill.test:*}:order:o$tomorrow-*' | grep -q order"
replay --clock-offset 1d --update "$T/upd/session.json"
check "--update a day later changes nothing" cmp -s "$rec" "$T/upd/session.json"
replay --clock-offset soon "$T/rec"
check "a bad --clock-offset is a usage error" [ "$RC" = 2 ]

check "voxcart replay reported no sanitizer error" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \"\$1\"" _ "$T/replay.err"
finish
