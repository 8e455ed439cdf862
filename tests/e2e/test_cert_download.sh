#!/usr/bin/env bash
# Chain downloads for real: voxcartd fetches the signing chain over HTTPS from a
# local server standing in for s3.amazonaws.com (verify.fetch_connect_to), refuses
# oversized and missing chains and slow servers, shares what it fetched through
# Redis so a second instance verifies without downloading.
. "$(dirname "$0")/lib.sh" "$1"
make_devca
start_redis

make_s3_cert
mkdir -p "$T/www/echo.api"
cp "$CA/chain.pem" "$T/www/echo.api/net.pem"
head -c 100000 /dev/zero | tr '\0' 'A' >"$T/www/echo.api/big.pem"
start_www_tls "$T/www"

export VOXCART_FETCH_CONNECT_TO="s3.amazonaws.com:443:127.0.0.1:$S3_PORT"
export VOXCART_FETCH_CA_FILE="$CA/root.pem"
start_voxcartd
launch=$(make_request launch LaunchRequest)
signed "$launch" --restamp --cert-url https://s3.amazonaws.com/echo.api/net.pem
check "a chain downloaded over HTTPS verifies the request" [ "$STATUS" = 200 ]
check "the download is logged" grep -q "net.pem" "$T/voxcartd.log"
keys=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'vx:cert:*' | wc -l)
check "the downloaded chain is shared through redis" [ "$keys" -ge 1 ]

signed "$launch" --restamp --cert-url https://s3.amazonaws.com/echo.api/big.pem
check "a chain over 64 KiB is refused" contains "$BODY" 'cert_fetch'
check "the size limit is named in the log" grep -q "larger than 65536" "$T/voxcartd.log"
signed "$launch" --restamp --cert-url https://s3.amazonaws.com/echo.api/missing.pem
check "a missing chain is refused" grep -qE 'cert_fetch|cert_parse' <<<"$BODY"

# A second instance, no route to the download server: it must use the shared chain.
kill "$S3_PID"; { wait "$S3_PID"; } 2>/dev/null
FIRST_PID=$VX_PID
unset VOXCART_FETCH_CONNECT_TO
mv "$T/voxcartd.log" "$T/voxcartd-1.log"
start_voxcartd
signed "$launch" --restamp --cert-url https://s3.amazonaws.com/echo.api/net.pem
check "a second instance verifies with the chain shared through redis" [ "$STATUS" = 200 ]
kill "$FIRST_PID"

# A server that accepts TLS but never answers: the download gives up after 2 s.
start_silent_tls
export VOXCART_FETCH_CONNECT_TO="s3.amazonaws.com:443:127.0.0.1:$SLOW_PORT"
mv "$T/voxcartd.log" "$T/voxcartd-2.log"
start_voxcartd
t0=$(date +%s%N)
signed "$launch" --restamp --cert-url https://s3.amazonaws.com/echo.api/slow.pem
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a server that never answers is refused" contains "$BODY" 'cert_fetch'
check "not before the 2 s timeout (took ${ms} ms)" [ "$ms" -ge 1900 ]
check "not much after it" [ "$ms" -lt 6000 ]
check "the timeout is logged" grep -q "slow.pem' failed: .*timed out" "$T/voxcartd.log"
finish
