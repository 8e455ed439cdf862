#!/usr/bin/env bash
# The provider's official Node SDK (@amazonpay/amazon-pay-api-sdk-nodejs), unchanged,
# against voxcart-paysim over HTTPS with overrideServiceUrl: it signs, the sandbox
# verifies, and charges are created, read, captured and refunded.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"

paysim_node_deps
make_devca
start_paysim --throttle off --devca "$CA" --tls-port 0
check "the sandbox speaks HTTPS" contains "$PS_URL" https://
make_merchant shop1 SANDBOX-AHSDK1
sim POST chargePermissions '{"merchantId":"shop1","amount":{"amount":"14.00","currencyCode":"EUR"}}'
P=$(jqb .chargePermissionId)
out=$(cd "$PS_NODE" && node sdk.js "${PS_URL#https://}" "$KEY_ID" "$KEY_FILE" "$P" 2>&1); rc=$?
echo "$out"
check "every SDK check passed" [ "$rc" = 0 ]
check "all of them ran" [ "$(grep -c '^ok' <<<"$out")" -ge 13 ]
sim GET "charges?chargePermissionId=$P"
check "the sandbox's ledger holds the SDK's one charge, captured" \
  [ "$(jqb '[.charges[]|select(.statusDetails.state=="Captured")]|length')" = 1 -a "$(jqb '.charges|length')" = 1 ]
sim GET refunds
check "and its one refund" [ "$(jqb '.refunds|length')" = 1 ]
PS_KEY_ID=SANDBOX-AHSDK1 PS_PREFIX=/v2 api GET "chargePermissions/$P"
check "/v2/ (the SDK's path for an environment key) over HTTPS from curl too" [ "$STATUS" = 200 ]
finish_paysim
