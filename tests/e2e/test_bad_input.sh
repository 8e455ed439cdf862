#!/usr/bin/env bash
# Bad input never crashes or leaks: truncated, corrupted and oddly shaped
# request bodies sent to voxcartd (development mode, so every one reaches the
# envelope parser and the dialog), each answered with HTTP 200 or 400, and the
# server, built with ASan/UBSan in make test, still healthy at the end.
. "$(dirname "$0")/lib.sh" "$1"
make_devca
start_redis
VX_PLAIN=1 start_voxcartd --development
order=$(make_request order OrderIntent)
sed -i 's/"confirmationStatus":"NONE"}/"confirmationStatus":"NONE","slots":{"product":{"name":"product","value":"latte","resolutions":{"resolutionsPerAuthority":[{"status":{"code":"ER_SUCCESS_MATCH"},"values":[{"value":{"id":"latte","name":"latte"}}]}]}},"quantity":{"name":"quantity","value":"2"}}}/' "$order"
body=$(cat "$order")
len=${#body}
codes="$T/codes"
: >"$codes"
send() { curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
  --data-binary @- "$BASE/alexa" >>"$codes"; }

# every truncation point
for ((i = 0; i < len; i += 7)); do printf '%s' "${body:0:i}" | send; done
# one character replaced by each of a few troublesome ones, at many places
for ((i = 1; i < len; i += 23)); do
  for c in '"' '{' ']' '\' '0' ' ' $'\x01'; do printf '%s%s%s' "${body:0:i}" "$c" "${body:i+1}" | send; done
done
# odd but valid JSON
for v in 'null' '[]' '"x"' '1e999' '{"request":null}' '{"request":{"type":7,"requestId":[]}}' \
  '{"request":{"type":"IntentRequest","requestId":"r","timestamp":"2026-13-45T99:99:99Z","intent":{"name":""}}}' \
  "$(printf '%0.s[' $(seq 1 5000))" \
  "{\"request\":{\"type\":\"IntentRequest\",\"requestId\":\"r\",\"locale\":\"xx-YY\",\"timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"intent\":{\"name\":\"OrderIntent\",\"slots\":{\"quantity\":{\"name\":\"quantity\",\"value\":\"99999999999999999999\"},\"product\":{\"name\":\"product\",\"value\":\"$(head -c 3000 /dev/zero | tr '\0' 'x')\"}}}}}"; do
  printf '%s' "$v" | send
done
total=$(wc -l <"$codes")
bad=$(grep -cvE '^(200|400)$' "$codes")
echo "$total requests: $(sort "$codes" | uniq -c | tr '\n' ' ')"
check "every malformed body is answered with 200 or 400 ($total sent)" [ "$bad" = 0 ]
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")
check "the server is still healthy" [ "$code" = 200 ]
post "$order" 
check "and still takes orders" contains "$BODY" 'What size'
finish
