#!/usr/bin/env bash
# Input that must be refused or handled: NULs inside strings, bodies that are not
# UTF-8, header values with spaces around them, Transfer-Encoding together with
# Content-Length, timestamps that are numbers but not epoch milliseconds, a port
# that another voxcartd listens on, and configuration files that are not strict JSON.
. "$(dirname "$0")/lib.sh" "$1"
make_devca
start_redis
start_voxcartd # TLS, every request verified

# --- NUL inside a string: a C-string comparison would stop at it ---
nul_id=$(make_request nul_id LaunchRequest en-US 'amzn1.ask.skill.test\u0000evil')
signed "$nul_id"
check "a skill ID with \\u0000 after an allowed one is refused" [ "$STATUS" = 400 ]
check "as body_malformed, naming the NUL" contains "$BODY" 'u0000 in string'
launch=$(make_request launch LaunchRequest)
# with the bug, the second name reads as applicationId and, given last, wins
sed 's/{"applicationId":"amzn1.ask.skill.test"}/{"applicationId":"amzn1.ask.skill.evil","applicationId\\u0000x":"amzn1.ask.skill.test"}/g' \
  "$launch" >"$T/nul_key.json"
signed "$T/nul_key.json" # as it is: re-stamping would re-encode it
check "a member named applicationId\\u0000x is refused" contains "$BODY" '"body_malformed"'

# --- a body that is not UTF-8 ---
order=$(make_request order OrderIntent)
sed -i 's/"confirmationStatus":"NONE"}/"confirmationStatus":"NONE","slots":{"product":{"name":"product","value":"caf\xe9"}}}/' "$order"
signed "$order"
check "a body with a byte that is not UTF-8 is refused with 400" [ "$STATUS" = 400 ]
check "as body_malformed" contains "$BODY" '"body_malformed"'
check "naming it" contains "$BODY" 'invalid UTF-8'
check "the answer is UTF-8 itself" bash -c "printf '%s' \"\$1\" | iconv -f UTF-8 -t UTF-8 >/dev/null" _ "$BODY"

# --- header values: spaces and tabs around them are not part of the value (RFC 9110 5.5) ---
launch=$(make_request launch LaunchRequest) # stamped now: signed as it is
"$VOXCART" sign --dir "$CA" "$launch" >"$T/signed.txt"
url=$(sed -n 's/^SignatureCertChainUrl: //p' "$T/signed.txt")
sig=$(sed -n 's/^Signature-256: //p' "$T/signed.txt")
post "$launch" -H "SignatureCertChainUrl: $url  " -H "Signature-256: $sig $(printf '\t') "
check "a signature header with trailing blanks is accepted" [ "$STATUS" = 200 ]
check "and the turn is answered" contains "$BODY" '"outputSpeech"'

# --- Transfer-Encoding and Content-Length together (RFC 9112 6.1) ---
# plain HTTP on loopback for the raw socket; the same server code
VX_PLAIN=1 VOXCART_SKILL_IDS=amzn1.ask.skill.test start_voxcartd --development
plain_port=$VX_PORT
ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
exec 3<>"/dev/tcp/127.0.0.1/$plain_port"
# in a subshell: should the server close before the write ends, SIGPIPE ends only that
(printf 'POST /alexa HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&3) 2>/dev/null
start=$(date +%s)
reply=$(timeout 10 cat <&3)
took=$(($(date +%s) - start))
exec 3<&-
check "chunked with Content-Length is answered 400" contains "$reply" 'HTTP/1.1 400'
check "naming the reason" contains "$reply" 'Transfer-Encoding and Content-Length together'
check "the request after it on the connection is not served" \
  bash -c "[ \$(printf '%s' \"\$1\" | grep -c '^HTTP/1.1 ') = 1 ]" _ "$reply"
check "and the connection is closed (${took} s)" [ "$took" -lt 5 ]
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$plain_port/healthz")
check "the server still serves" [ "$code" = 200 ]

# --- timestamps that are numbers but not epoch milliseconds ---
for v in 1.7e12 "$(date +%s)000.5" 17000000000000000000000; do
  body=$(make_request ts LaunchRequest)
  sed -i "s/\"timestamp\":\"[^\"]*\"/\"timestamp\":$v/" "$body"
  BODY=$(curl -s --data-binary "@$body" "http://127.0.0.1:$plain_port/alexa")
  check "timestamp $v is timestamp_invalid" contains "$BODY" '"timestamp_invalid"'
done
body=$(make_request ts LaunchRequest)
sed -i "s/\"timestamp\":\"[^\"]*\"/\"timestamp\":$(date +%s)000/" "$body"
BODY=$(curl -s --data-binary "@$body" "http://127.0.0.1:$plain_port/alexa")
check "whole epoch milliseconds still pass" contains "$BODY" '"outputSpeech"'

# --- a second voxcartd on a port that one listens on ---
out=$(VOXCART_LISTEN_PORT=$plain_port timeout 20 "$VOXCARTD" --development 2>&1)
rc=$?
check "a second voxcartd on a port in use exits with an error" [ "$rc" = 1 ]
check "saying the address is in use" contains "$out" "cannot listen on 127.0.0.1:$plain_port: address already in use"
VOXCART_LISTEN_PORT=$plain_port VOXCART_LISTEN_SHARE_PORT=true "$VOXCARTD" --development \
  >"$T/second.log" 2>&1 &
second=$!
PIDS+=("$second")
wait_for 10 grep -q 'listening on' "$T/second.log"
check "with listen.share_port it shares the port on purpose" kill -0 "$second"
kill -TERM "$second"
{ wait "$second"; } 2>/dev/null

# --- configuration files are strict JSON, and errors name the place ---
conf() { # conf NAME TEXT EXPECTED
  printf '%b' "$2" >"$T/$1.json"
  out=$("$VOXCARTD" -c "$T/$1.json" --development --check 2>&1)
  rc=$?
  check "configuration with $1 is refused" [ "$rc" != 0 ]
  check "naming the place: $3" contains "$out" "$T/$1.json: $3"
}
conf trailing-garbage '{"threads": 2}\nx\n' 'line 2, column 1: unexpected data after the JSON value'
conf trailing-comma '{\n  "threads": 2,\n}\n' 'line 3, column 1: trailing comma'
conf comment '{\n  // two workers\n  "threads": 2\n}\n' 'line 2, column 3: comments are not allowed in JSON'
conf nul-key '{"log": {"level\\u0000x": "debug"}}' 'line 1, column 16: \u0000 in string'
printf '{"threads": 2, "listen": {"share_port": true}}\n' >"$T/good.json"
out=$("$VOXCARTD" -c "$T/good.json" --development --check 2>&1)
check "a strict configuration still passes" contains "$out" 'configuration ok'
finish
