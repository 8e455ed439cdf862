#!/usr/bin/env bash
# Configuration errors name the field and stop start-up; development mode is
# loopback-only, announced, and lets unsigned requests through.
. "$(dirname "$0")/lib.sh" "$1"

out=$("$VOXCARTD" --development --listen 0.0.0.0 --check 2>&1); rc=$?
check "development mode off loopback is refused" [ "$rc" != 0 ]
check "the refusal names verify.development" contains "$out" 'verify.development'

out=$(VOXCART_SKILL_IDS=x "$VOXCARTD" --listen 0.0.0.0 --check 2>&1)
check "plain HTTP off loopback is refused, naming tls.cert" contains "$out" 'tls.cert'

echo '{"listen": {"port": 70000}}' >"$T/bad.json"
out=$("$VOXCARTD" -c "$T/bad.json" --check 2>&1); rc=$?
check "an out-of-range port is refused" [ "$rc" != 0 ]
check "the error names listen.port" contains "$out" 'listen.port'

echo '{"listen": {"prot": 8443}}' >"$T/typo.json"
out=$("$VOXCARTD" -c "$T/typo.json" --check 2>&1)
check "an unknown field is named" contains "$out" "unknown field 'listen.prot'"

echo '{"verify": {"skill_ids": "abc"}}' >"$T/type.json"
out=$("$VOXCARTD" -c "$T/type.json" --check 2>&1)
check "a wrongly typed field is named" contains "$out" 'verify.skill_ids'

echo '{not json' >"$T/broken.json"
out=$("$VOXCARTD" -c "$T/broken.json" --check 2>&1); rc=$?
check "broken JSON is refused with the file name" contains "$out" "$T/broken.json"

out=$(VOXCART_THREADS=lots "$VOXCARTD" --development --check 2>&1)
check "a bad environment value names the variable" contains "$out" 'VOXCART_THREADS'

out=$("$VOXCARTD" --check 2>&1); rc=$?
check "no skill IDs outside development mode is refused" contains "$out" 'verify.skill_ids'

echo '{"verify": {"skill_ids": ["amzn1.ask.skill.x"], "cert_map": {"https://s3.amazonaws.com/echo.api/x.pem": "/nonexistent.pem"}}}' >"$T/map.json"
out=$("$VOXCARTD" -c "$T/map.json" --check 2>&1); rc=$?
check "a cert_map entry with a missing file or valid config is reported" [ -n "$out" ]

out=$("$VOXCARTD" --help)
check "--help explains the options" contains "$out" '--config'
out=$("$VOXCARTD" --help-config)
check "--help-config lists every variable" contains "$out" 'VOXCART_REDIS_URL'

# Development mode: plain HTTP on loopback, unsigned requests.
make_devca
start_redis
VX_PLAIN=1 VOXCART_SKILL_IDS= start_voxcartd --development
check "development mode is announced" grep -q 'DEVELOPMENT MODE' "$T/voxcartd.log"
check "plain HTTP is warned about" grep -q 'plain HTTP' "$T/voxcartd.log"
launch=$(make_request launch LaunchRequest)
post "$launch"
check "an unsigned request is answered in development mode" [ "$STATUS" = 200 ]
stale=$(make_request stale LaunchRequest)
sed -i 's/"timestamp":"[^"]*"/"timestamp":"2020-01-01T00:00:00Z"/' "$stale"
post "$stale"
check "timestamps are still checked in development mode" contains "$BODY" 'timestamp_stale'
finish
