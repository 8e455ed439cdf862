#!/usr/bin/env bash
# One figure: voxcart-paysim Create Charge requests/s with signature checking, throttling
# off, on a release build. Not part of make test (a measurement, not a check).
#   tests/paysim/bench.sh [BUILD_DIR (default build)] [N (default 5000)] [CONCURRENCY (4)]
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$SRC/build}
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
  cmake --build "$B" -j2 --target voxcart-paysim >/dev/null || exit 1
. "$SRC/tests/e2e/lib.sh" "$B"
. "$SRC/tests/paysim/lib.sh"
paysim_node_deps
start_paysim --throttle off
make_merchant bench SANDBOX-bench
sim POST chargePermissions '{"merchantId":"bench","amount":{"amount":"0.01","currencyCode":"EUR"}}'
P=$(jqb .chargePermissionId)
(cd "$PS_NODE" && node bench.js "$PS_URL" "$KEY_ID" "$KEY_FILE" "$P" "${2:-5000}" "${3:-4}")
sim GET "charges?chargePermissionId=$P"
echo "charges in the ledger: $(jqb '.charges|length')"
