#!/usr/bin/env bash
# End to end: `voxcart replay` plays every conversation in tests/fixtures/ against
# voxcartd over HTTPS with a real Redis and the development CA, as a developer
# would. Then the failure paths (a changed word, broken files), JUnit, --keyword,
# --update, seeds and store expectations, a session voxcartd recorded and
# recordings imported from the platform's tools, replayed a "day later", and
# --unsigned against development mode.
. "$(dirname "$0")/lib.sh" "$1"

# replay ARGS...: runs `voxcart replay` against the running server; sets RC, OUT, ERR
# (and STATUS/BODY, which check prints on a failure).
replay() {
  OUT=$("$VOXCART" replay --dir "$CA" --url "$BASE/alexa" "$@" 2>"$T/replay.err")
  RC=$?
  ERR=$(cat "$T/replay.err")
  cat "$T/replay.err" >>"$T/replay-all.err"
  STATUS=$RC
  BODY="$OUT $ERR"
}

has() { grep -qE -- "$2" <<<"$1"; }     # has TEXT ERE
lacks() { ! grep -q -- "$2" "$1"; }     # lacks FILE STRING

make_devca
start_redis
check "the store's fixture helpers work against redis" "$BUILD/it_store_fixture"
start_voxcartd

# --- every fixture in the tree ---
replay "$(plain_fixtures)"
check "every fixture in tests/fixtures (but paying/) passes" [ "$RC" = 0 ]
check "one line per conversation with a progress counter" \
  has "$OUT" '^\[1/[0-9]+\] ok   launch/de-DE-welcome\.json$'
check "the summary line stands alone" has "$OUT" '^[1-9][0-9]* passed, 0 failed$'
check "_requests/ is not played as a conversation" bash -c "! grep -q _requests <<<\"\$1\"" _ "$OUT"

# --- one expected word changed ---
mkdir -p "$T/changed"
sed 's/\[Ww\]elcome/Farewell/' "$SRC/tests/fixtures/launch/en-US-welcome.json" >"$T/changed/en-US-welcome.json"
replay "$T/changed"
check "a changed expectation fails with exit 1" [ "$RC" = 1 ]
check "the failure line names the conversation" has "$OUT" '^\[1/1\] FAIL en-US-welcome\.json$'
check "the diff names the turn and the JSON path" \
  has "$OUT" '^      turn 1 \(launch\): response\.outputSpeech\.ssml$'
check "the diff shows what was expected" has "$OUT" 'expected: "/\^<speak>\.\*Farewell\.\*</speak>\$/"$'
check "the diff shows what came back" has "$OUT" 'got:      "<speak>.*</speak>"$'
check "the summary counts the failure" has "$OUT" '^0 passed, 1 failed$'

# --- broken fixture files ---
mkdir -p "$T/broken"
cp "$SRC/tests/fixtures/launch/de-DE-welcome.json" "$T/broken/a-good.json"
sed 's/"expect"/"expcet"/' "$SRC/tests/fixtures/launch/de-DE-welcome.json" >"$T/broken/typo.json"
printf '{"name": "x",\n "turns": [\n  {"request": {}, }\n]}\n' >"$T/broken/invalid.json"
printf '{"name": "x", "turns": [{"name": "no body"}]}\n' >"$T/broken/norequest.json"
printf '{"name": "x", "turns": [{"request_file": "missing.json"}]}\n' >"$T/broken/nofile.json"
replay "$T/broken"
check "broken fixtures fail the run" [ "$RC" = 1 ]
check "an unknown key is named with file and place" \
  has "$OUT" "$T/broken/typo.json: turns\[0\]: unknown key 'expcet'"
check "invalid json is named with line and column" \
  has "$OUT" "$T/broken/invalid.json: line 3, column 19: invalid json"
check "a missing request is named" \
  has "$OUT" "$T/broken/norequest.json: turns\[0\]: missing 'request' \(or 'request_file'\)"
check "a missing request_file is named" \
  has "$OUT" "$T/broken/nofile.json: turns\[0\]\.request_file: cannot open '$T/broken/missing.json'"
check "the good file next to them still passes" has "$OUT" '^\[1/5\] ok   a-good\.json$'
check "broken files count as failed" has "$OUT" '^1 passed, 4 failed$'
check "nothing crashed" bash -c "! grep -qE 'Sanitizer|runtime error' \"\$1\"" _ "$T/replay.err"

# --- JUnit ---
replay --junit "$T/report.xml" "$(plain_fixtures)" "$T/changed" "$T/broken/typo.json"
check "the run with failures exits 1" [ "$RC" = 1 ]
check "a JUnit report is written" [ -s "$T/report.xml" ]
check "the JUnit report is well-formed XML" xmllint --noout "$T/report.xml"
check "JUnit counts the failure and the error" \
  grep -qE '<testsuite name="voxcart replay" tests="[0-9]+" failures="1" errors="1"' "$T/report.xml"
check "JUnit has the escaped diff" grep -q 'expected: &quot;/^&lt;speak&gt;' "$T/report.xml"
check "JUnit names the broken file" grep -q "unknown key &apos;expcet&apos;" "$T/report.xml"

# --- --keyword ---
replay --keyword de-DE-welcome "$SRC/tests/fixtures"
check "--keyword selects by path" [ "$RC" = 0 ]
check "--keyword ran one conversation" has "$OUT" '^\[1/1\] ok   launch/de-DE-welcome\.json$'
check "--keyword summary" has "$OUT" '^1 passed, 0 failed$'
replay --keyword 'en-GB: opening' "$SRC/tests/fixtures"
check "--keyword selects by name" has "$OUT" '^\[1/1\] ok   launch/en-GB-welcome\.json$'
replay --keyword no-such-conversation "$SRC/tests/fixtures"
check "a keyword that selects nothing fails" [ "$RC" = 1 ]

# --- --update ---
replay --update "$T/changed/en-US-welcome.json"
check "--update exits 0" [ "$RC" = 0 ]
check "--update reports the re-baselined turn" \
  has "$OUT" 'updated turn 1 \(launch\): response\.outputSpeech\.ssml'
check "--update replaced the literal that no longer matched" lacks "$T/changed/en-US-welcome.json" Farewell
check "--update kept the patterns that still match" \
  grep -qF '"ssml": "/^<speak>.+</speak>$/"' "$T/changed/en-US-welcome.json"
check "--update left no temporary file" bash -c "! ls \"\$1\" | grep -q tmp" _ "$T/changed"
replay "$T/changed/en-US-welcome.json"
check "the updated fixture passes" [ "$RC" = 0 ]

# --- seeds and store expectations ---
mkdir -p "$T/store"
cat >"$T/store/seeded.json" <<JSON
{
  "name": "seeded state is where the turn left it",
  "turns": [
    {
      "name": "launch with a seeded profile",
      "request_file": "$SRC/tests/fixtures/_requests/launch.json",
      "seed": {
        "profile": {"favourite": "latte", "user": "%USER%"},
        "billing_agreement": {"id": "B01-E2E", "status": "OPEN"}
      },
      "expect": {
        "store": {
          "profile": {"favourite": "latte", "user": "%USER%", "billing_agreement": {"id": "/^B01-/"}},
          "last_order": null
        }
      }
    },
    {
      "name": "billing agreement withdrawn",
      "request_file": "$SRC/tests/fixtures/_requests/launch.json",
      "seed": {"billing_agreement": null},
      "expect": {"store": {"profile": {"favourite": "latte", "billing_agreement": null}}}
    }
  ]
}
JSON
sed -e 's/"favourite": "latte", "billing_agreement": null/"favourite": "mocha"/' \
  "$T/store/seeded.json" >"$T/store/wrong.json"
replay "$T/store/seeded.json"
check "seeds land in the store and store expectations pass" [ "$RC" = 0 ]
replay "$T/store/wrong.json"
check "a wrong store expectation fails" [ "$RC" = 1 ]
check "its diff names the store path" has "$OUT" 'turn 2 \(billing agreement withdrawn\): store\.profile\.favourite$'
check "the seeded profile is keyed by the fresh user" \
  bash -c "redis-cli -p $REDIS_PORT --scan --pattern 'vx:{amzn1.ask.skill.test:amzn1.ask.account.REPLAY*}:profile' | grep -q profile"

# --- recording a live session ---
kill -TERM "$VX_PID"; wait "$VX_PID" 2>/dev/null
export VOXCART_RECORD_DIR="$T/rec"
start_voxcartd
ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
session() { # session FILE NEW TYPE_JSON: one request of the recorded session
  cat >"$1" <<JSON
{"version":"1.0","session":{"new":$2,"sessionId":"amzn1.echo-api.session.E2E-RECORDED","application":{"applicationId":"amzn1.ask.skill.test"},"user":{"userId":"amzn1.ask.account.E2EREALUSER","accessToken":"Atza|E2EREALTOKEN"}},"context":{"System":{"application":{"applicationId":"amzn1.ask.skill.test"},"user":{"userId":"amzn1.ask.account.E2EREALUSER","accessToken":"Atza|E2EREALTOKEN"},"device":{"deviceId":"amzn1.ask.device.E2EREALDEVICE","supportedInterfaces":{}},"apiEndpoint":"https://api.amazonalexa.com","apiAccessToken":"eyJE2EREALAPITOKEN"}},"request":$3}
JSON
}
session "$T/r1.json" true "{\"type\":\"LaunchRequest\",\"requestId\":\"amzn1.echo-api.request.E2E1\",\"timestamp\":\"$ts\",\"locale\":\"en-US\"}"
session "$T/r2.json" false "{\"type\":\"IntentRequest\",\"requestId\":\"amzn1.echo-api.request.E2E2\",\"timestamp\":\"$ts\",\"locale\":\"en-US\",\"intent\":{\"name\":\"AMAZON.HelpIntent\",\"confirmationStatus\":\"NONE\"}}"
session "$T/r3.json" false "{\"type\":\"SessionEndedRequest\",\"requestId\":\"amzn1.echo-api.request.E2E3\",\"timestamp\":\"$ts\",\"locale\":\"en-US\",\"reason\":\"USER_INITIATED\"}"
signed "$T/r1.json" --restamp
check "recorded launch answered" [ "$STATUS" = 200 ]
launch_answer=$BODY
signed "$T/r2.json" --restamp
check "recorded intent answered" [ "$STATUS" = 200 ]
signed "$T/r3.json" --restamp
check "recorded session end answered" [ "$STATUS" = 200 ]
check "the log says recording is on and where" grep -q "RECORDING: .*'$T/rec'" "$T/voxcartd.log"
recs=("$T"/rec/*.json)
check "one file for the session" [ "${#recs[@]}" = 1 ]
rec=${recs[0]}
check "the file is named by date and session hash" \
  bash -c "basename \"\$1\" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9a-f]{16}\.json$'" _ "$rec"
check "all three turns are in it" [ "$(grep -c '"requestId": "%REQUEST_ID%"' "$rec")" = 3 ]
check "no real user ID in the recording" lacks "$rec" E2EREALUSER
check "no real device ID in the recording" lacks "$rec" E2EREALDEVICE
check "no access token in the recording" lacks "$rec" E2EREALTOKEN
check "no API token in the recording" lacks "$rec" E2EREALAPITOKEN
check "placeholders instead" grep -q '"userId": "%USER%"' "$rec"
check "the session ID is kept" grep -q 'E2E-RECORDED' "$rec"

# A day later: the original timestamps are stale and the signatures useless. Replay re-stamps and
# re-signs; the copy with yesterday's timestamps written in proves the stamp is replaced.
yesterday=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$T/later"
sed "s/\"%NOW%\"/\"$yesterday\"/" "$rec" >"$T/later/stale.json"
check "the stale copy has yesterday in it" grep -q "$yesterday" "$T/later/stale.json"
replay "$rec" "$T/later/stale.json"
check "the recording replays a day later" [ "$RC" = 0 ]
check "both conversations passed" has "$OUT" '^2 passed, 0 failed$'

# --- importing the platform's recordings ---
launch_req=$(sed "s/\"timestamp\":\"$ts\"/\"timestamp\":\"$yesterday\"/" "$T/r1.json")
printf '[{"request": %s, "response": %s}]\n' "$launch_req" "$launch_answer" >"$T/pairs.json"
printf '{"invocations": [{"request": {"utterance": "open the coffee shop", "newSession": true}, "response": {"body": {"status": "SUCCESSFUL", "result": {"skillExecutionInfo": {"invocations": [{"invocationRequest": {"endpoint": "x", "body": %s}, "invocationResponse": {"body": %s}}]}}}}}]}\n' \
  "$launch_req" "$launch_answer" >"$T/dialog-io.json"
OUT=$("$VOXCART" replay --import "$T/imported" "$T/pairs.json" "$T/dialog-io.json" 2>&1); RC=$?
STATUS=$RC BODY=$OUT
check "import converts both forms" [ "$RC" = 0 ]
check "import says what it wrote" has "$OUT" "imported $T/dialog-io.json -> $T/imported/dialog-io.json \(1 turn\)"
check "imports carry no real user ID" bash -c "! grep -rq E2EREALUSER \"\$1\"" _ "$T/imported"
check "imports carry no token" bash -c "! grep -rqE 'E2EREALTOKEN|E2EREALAPITOKEN' \"\$1\"" _ "$T/imported"
replay "$T/imported"
check "imported recordings replay" [ "$RC" = 0 ]
check "both imports passed" has "$OUT" '^2 passed, 0 failed$'
OUT=$("$VOXCART" replay --import "$T/imported" "$T/pairs.json" 2>&1); RC=$?
check "import never overwrites" [ "$RC" = 1 ]

# --- development mode: unsigned ---
kill -TERM "$VX_PID"; wait "$VX_PID" 2>/dev/null
unset VOXCART_RECORD_DIR
VX_PLAIN=1 start_voxcartd --development
OUT=$("$VOXCART" replay --unsigned --url "$BASE/alexa" "$(plain_fixtures)" 2>>"$T/replay-all.err"); RC=$?
STATUS=$RC BODY=$OUT
check "--unsigned plays every fixture against development mode" [ "$RC" = 0 ]

check "voxcart replay reported no sanitizer error" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \"\$1\"" _ "$T/replay-all.err"
finish
