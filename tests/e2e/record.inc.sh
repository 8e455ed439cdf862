# Helpers of the tests that record a live conversation and replay it (test_replay_vars.sh,
# test_replay_pay.sh). Needs lib.sh; set REC_USER, REC_SESSION and REC_DEVICE first.

# replay ARGS...: `voxcart replay` against the development-mode server; sets RC and OUT
replay() {
  OUT=$("$VOXCART" replay --unsigned --url "$BASE/alexa" "$@" 2>>"$T/replay.err")
  RC=$?
  STATUS=$RC BODY=$OUT
}
has() { grep -qE -- "$2" <<<"$1"; }
lacks() { ! grep -q -- "$2" "$1"; } # lacks FILE STRING

N=0
# send NEW REQUEST_JSON [SESSION]: one turn of the live conversation (the platform's request
# around it); @TS@ and @RID@ in REQUEST_JSON become the time and a request ID of its own
send() {
  local session=${3:-$REC_SESSION}
  N=$((N + 1))
  local ts; ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local req=${2/@TS@/$ts}
  req=${req/@RID@/amzn1.echo-api.request.E2EREC$N}
  cat >"$T/turn$N.json" <<JSON
{"version":"1.0","session":{"new":$1,"sessionId":"$session","application":{"applicationId":"amzn1.ask.skill.test"},"user":{"userId":"$REC_USER"}},"context":{"System":{"application":{"applicationId":"amzn1.ask.skill.test"},"user":{"userId":"$REC_USER"},"device":{"deviceId":"$REC_DEVICE","supportedInterfaces":{}}}},"request":$req}
JSON
  post "$T/turn$N.json"
}
LAUNCH='{"type":"LaunchRequest","requestId":"@RID@","timestamp":"@TS@","locale":"en-US"}'
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

# replayed_a_day_later REC COPY ORDERS: with voxcartd's clock moved a day on (by the caller),
# REC replays with replay's moved alike and makes ORDERS orders carrying tomorrow's date, and
# --update of COPY (a copy of REC) a day later changes nothing
replayed_a_day_later() {
  replay --clock-offset 1d "$1"
  check "the recording replays a day later" [ "$RC" = 0 ]
  check "a day later: one passed" has "$OUT" '^1 passed, 0 failed$'
  local tomorrow; tomorrow=$(date -u -d '+1 day' +%Y%m%d)
  check "the orders made a day later carry tomorrow's date" \
    bash -c "redis-cli -p $REDIS_PORT --scan --pattern 'vx:{amzn1.ask.skill.test:*}:order:o$tomorrow-*' | grep -c order | grep -qx $3"
  replay --clock-offset 1d --update "$2"
  check "--update a day later changes nothing" cmp -s "$1" "$2"
}

# updated_unchanged REC COPY: --update of COPY, a fresh copy of the passing REC, exits 0,
# reports no change and leaves it byte for byte
updated_unchanged() {
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2"
  replay --update "$2"
  check "--update on a passing recording exits 0" [ "$RC" = 0 ]
  check "--update reports no change" bash -c "! grep -q 'updated' <<<\"\$1\"" _ "$OUT"
  check "--update left the file byte for byte" cmp -s "$1" "$2"
}
