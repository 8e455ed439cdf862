#!/usr/bin/env bash
# One figure for the merchant API: GET /v1/shops/{shop}/orders?limit=50 (a page of 50 voice
# orders, each read from its customer's slot) with the bearer token verified on every request,
# under wrk on plain HTTP on loopback. Not part of make test.
#   tests/bench/merchant_orders.sh [BUILD_DIR]   (default build/, a release build: make build)
#   DURATION=10 CONNS=32 THREADS=1
. "$(dirname "$0")/../e2e/lib.sh" "${1:-$(dirname "$0")/../../build}"
VX_PLAIN=1
export VOXCART_THREADS=${VOXCART_THREADS:-2}
. "$(dirname "$0")/../e2e/merchant.inc.sh"
for i in $(seq 1 55); do voice_order "BENCH$i"; done
TOKEN=$(tok --merchant demo --scope read)
URL="$BASE/v1/shops/corner_coffee/orders?limit=50"
n=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL" | jq '.data | length')
echo "a page holds $n orders"
[ "$n" = 50 ] || { echo "expected a page of 50"; exit 1; }
wrk -t "${THREADS:-1}" -c "${CONNS:-32}" -d "${DURATION:-10}s" --latency \
  -H "Authorization: Bearer $TOKEN" "$URL"
curl -s -o /dev/null -w 'after the run: %{http_code}\n' -H "Authorization: Bearer $TOKEN" "$URL"
finish
