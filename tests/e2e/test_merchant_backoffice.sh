#!/usr/bin/env bash
# The back-office page in headless Chromium (Debian's chromium): sign in with a token, pick the
# shop, see a paid order with its ledger, refund it through the sandbox, see it refunded and the
# event in the live feed. The page is plain HTML and JavaScript over the /v1 API.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
command -v chromium >/dev/null || { echo "chromium is not installed (scripts/deps.sh installs it)"; exit 1; }
paysim_node_deps
start_paysim --throttle off --port 0
make_merchant shop1
export VOXCART_PROVIDER_URL="$PS_URL/sandbox/v2" VOXCART_PROVIDER_KEY_ID=$KEY_ID \
  VOXCART_PROVIDER_PRIVATE_KEY=$KEY_FILE
. "$(dirname "$0")/merchant.inc.sh"
voice_order ALICE
pay_order ALICE
check "a paid order to refund" [ -n "$CHARGE" ]
out=$(NODE_PATH="$PS_NODE/node_modules" timeout 120 node "$SRC/tests/e2e/backoffice.js" "$BASE" \
  "$(tok --merchant demo)" "$ORDER" "$T/backoffice.png" 2>&1)
rc=$?
echo "$out"
STATUS=$rc BODY=$(grep FAIL <<<"$out" | head -3)
check "every back-office check passed in headless Chromium" [ "$rc" = 0 ]
check "all of them ran" [ "$(grep -c '^ok' <<<"$out")" -ge 11 ]
check "a screenshot was taken" [ -s "$T/backoffice.png" ]
sim GET "refunds?chargeId=$CHARGE"
check "the sandbox holds the refund of 9.00 EUR" [ "$(jqb '[.refunds[].refundAmount.amount] | join(",")')" = 9.00 ]
finish
