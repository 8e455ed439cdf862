#!/usr/bin/env bash
# End to end: signed requests over HTTPS to a running voxcartd with a real Redis.
# Every verification rule that can be exercised from outside is sent once, and
# the server must answer 200 or a 400 naming the reason, count it in /metrics,
# and keep serving.
. "$(dirname "$0")/lib.sh" "$1"

make_devca
# A second, unrelated CA: its chain must be refused (unknown root), its key gives wrong signatures.
"$VOXCART" devca --dir "$T/other" >/dev/null
EXTRA_CERT_MAP=",https://s3.amazonaws.com/echo.api/other.pem=$T/other/chain.pem"
start_redis
start_voxcartd

launch=$(make_request launch LaunchRequest)
signed "$launch" --restamp
check "signed LaunchRequest is answered" [ "$STATUS" = 200 ]
check "the answer is a spoken welcome" contains "$BODY" '"outputSpeech"'
check "the session stays open" contains "$BODY" '"shouldEndSession":false'

signed "$launch" --restamp --header-case lower
check "lower-case header names are accepted" [ "$STATUS" = 200 ]

de=$(make_request de LaunchRequest de-DE)
signed "$de" --restamp
check "de-DE welcome is German" contains "$BODY" 'Willkommen'

# Tampered body: sign one body, send another with the same headers.
"$VOXCART" sign --dir "$CA" "$launch" >"$T/headers"
sed 's/TESTUSER/OTHERUSER/' "$launch" >"$T/tampered.json"
hdr=(); while IFS= read -r line; do hdr+=(-H "$line"); done <"$T/headers"
post "$T/tampered.json" "${hdr[@]}"
check "tampered body is refused" [ "$STATUS" = 400 ]
check "tampered body names signature_mismatch" contains "$BODY" '"code":"signature_mismatch"'

post "$launch"
check "no signature headers is refused" [ "$STATUS" = 400 ]
check "reason missing_cert_url" contains "$BODY" 'missing_cert_url'

post "$launch" -H "SignatureCertChainUrl: https://s3.amazonaws.com/echo.api/echo-api-cert-dev.pem"
check "no Signature-256 is refused" contains "$BODY" 'missing_signature'

signed "$launch" --cert-url https://notamazon.com/echo.api/echo-api-cert-dev.pem
check "wrong certificate host is refused" [ "$STATUS" = 400 ]
check "reason cert_url_host" contains "$BODY" 'cert_url_host'

signed "$launch" --cert-url http://s3.amazonaws.com/echo.api/echo-api-cert-dev.pem
check "plain http certificate URL is refused" contains "$BODY" 'cert_url_scheme'

signed "$launch" --cert-url https://s3.amazonaws.com/echo.api/../invalid.path/cert.pem
check "dot-segment escape is refused" contains "$BODY" 'cert_url_path'

signed "$launch" --cert-url https://s3.amazonaws.com/echo.api/other.pem
check "chain from an unknown root is refused" contains "$BODY" 'cert_chain'

signed "$launch" --cert-url https://s3.amazonaws.com/echo.api/not-mapped-and-unreachable.pem
check "unobtainable chain is refused" [ "$STATUS" = 400 ]

signed "$launch" --signature "not base64!!"
check "broken base64 is refused" contains "$BODY" 'signature_encoding'

signed "$launch" --signature "$(head -c 256 /dev/urandom | base64 -w0)"
check "wrong signature is refused" contains "$BODY" 'signature_mismatch'

# Signed with another CA's key but naming our chain: wrong key.
"$VOXCART" sign --dir "$T/other" "$launch" | sed -n 's/^Signature-256: //p' >"$T/othersig"
signed "$launch" --signature "$(cat "$T/othersig")"
check "signature by the wrong key is refused" contains "$BODY" 'signature_mismatch'

signed "$launch" --timestamp "$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)"
check "stale timestamp is refused" contains "$BODY" 'timestamp_stale'
signed "$launch" --timestamp "$(date -u -d '+10 minutes' +%Y-%m-%dT%H:%M:%SZ)"
check "future timestamp is refused" contains "$BODY" 'timestamp_future'
signed "$launch" --timestamp "yesterday at noon"
check "unparseable timestamp is refused" contains "$BODY" 'timestamp_invalid'
signed "$launch" --timestamp "$(date -u -d '-100 seconds' +%Y-%m-%dT%H:%M:%SZ)"
check "timestamp 100 s old is accepted" [ "$STATUS" = 200 ]

other=$(make_request other LaunchRequest en-US amzn1.ask.skill.someone-else)
signed "$other" --restamp
check "unknown skill ID is refused" contains "$BODY" '"code":"skill_id"'

printf '{"version":"1.0","request":' >"$T/broken.json"
signed "$T/broken.json"
check "malformed JSON with a valid signature is refused" contains "$BODY" 'body_malformed'

# HTTP edges
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA/root.pem" "$BASE/nope")
check "unknown path is 404" [ "$code" = 404 ]
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA/root.pem" "$BASE/alexa")
check "GET /alexa is 405" [ "$code" = 405 ]
head -c 200000 /dev/zero | tr '\0' 'a' >"$T/big"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA/root.pem" --data-binary "@$T/big" "$BASE/alexa")
check "a body over 128 KiB is 413" [ "$code" = 413 ]
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA/root.pem" -H 'Transfer-Encoding: chunked' --data-binary "@$T/big" "$BASE/alexa")
check "a chunked body over 128 KiB is 413" [ "$code" = 413 ]

metrics=$(curl -s --cacert "$CA/root.pem" "$BASE/metrics")
check "metrics count rejections by reason" contains "$metrics" 'voxcart_verification_failures_total{reason="signature_mismatch"} 3'
check "metrics count accepted requests" grep -q 'voxcart_requests_total{outcome="ok"} [1-9]' <<<"$metrics"
check "metrics have a latency histogram" contains "$metrics" 'voxcart_request_duration_seconds_bucket{le="+Inf"}'

code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA/root.pem" "$BASE/readyz")
check "readyz is green with redis up" [ "$code" = 200 ]
stop_redis
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA/root.pem" "$BASE/readyz")
check "readyz is red with redis down" [ "$code" = 503 ]

# A request still uploading when SIGTERM arrives is answered before the server exits.
head -c 6000 /dev/zero | tr '\0' ' ' >"$T/slow.json"
curl -s -o /dev/null -w '%{http_code}' --cacert "$CA/root.pem" --limit-rate 2000 \
  --data-binary "@$T/slow.json" "$BASE/alexa" >"$T/slow.code" &
slow=$!
sleep 1
kill -TERM "$VX_PID"
wait "$slow"
check "a request in flight during SIGTERM is answered" [ "$(cat "$T/slow.code")" = 400 ]
wait "$VX_PID"; rc=$?
check "SIGTERM drains and exits 0" [ "$rc" = 0 ]
check "the log says it drained" grep -q 'draining' "$T/voxcartd.log"
finish
