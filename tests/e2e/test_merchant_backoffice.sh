#!/usr/bin/env bash
# The back-office page in headless Chromium (Debian's chromium): sign in with a token, pick the
# shop, see a paid order with its ledger, refund it through the sandbox, see it refunded and the
# event in the live feed; see the shop's subscription, pause and resume it. The page is plain HTML
# and JavaScript over the /v1 API.
. "$(dirname "$0")/lib.sh" "$1"
command -v chromium >/dev/null || { echo "chromium is not installed (scripts/deps.sh installs it)"; exit 1; }
. "$(dirname "$0")/merchant_pay.inc.sh"
paysim_node_deps
voice_order ALICE
pay_order ALICE
check "a paid order to refund" [ -n "$CHARGE" ]
sim POST chargePermissions "$(jq -n --arg m "$MERCHANT" '{merchantId:$m, chargePermissionType:"Recurring", buyerId:"buyer-alice"}')"
call "$FULL" POST /v1/shops/corner_coffee/plans -H 'Content-Type: application/json' --data-binary \
  '{"id":"beans","name":{"en":"Beans every month"},"interval":{"unit":"month","count":1},"amount":1200,"currency":"EUR"}'
call "$FULL" POST /v1/shops/corner_coffee/subscriptions -H 'Content-Type: application/json' --data-binary \
  "$(jq -cn --arg p "$(jq -r .chargePermissionId <<<"$BODY")" --arg d "$(date -d '+2 days' +%F)" \
    '{plan_id:"beans", customer:{skill_id:"amzn1.ask.skill.voxcart-demo", user_id:"amzn1.ask.account.ALICE"}, charge_permission_id:$p, start_date:$d}')"
SUB=$(jq -r .id <<<"$BODY")
check "a subscription to show" [ "$STATUS" = 201 ]
out=$(NODE_PATH="$PS_NODE/node_modules" timeout 120 node "$SRC/tests/e2e/backoffice.js" "$BASE" \
  "$(tok --merchant demo)" "$ORDER" "$T/backoffice.png" "$SUB" 2>&1)
rc=$?
echo "$out"
STATUS=$rc BODY=$(grep FAIL <<<"$out" | head -3)
check "every back-office check passed in headless Chromium" [ "$rc" = 0 ]
check "all of them ran" [ "$(grep -c '^ok' <<<"$out")" -ge 17 ]
check "a screenshot was taken" [ -s "$T/backoffice.png" ]
sim GET "refunds?chargeId=$CHARGE"
check "the sandbox holds the refund of 9.00 EUR" [ "$(jqb '[.refunds[].refundAmount.amount] | join(",")')" = 9.00 ]
finish
