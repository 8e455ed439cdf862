#!/usr/bin/env bash
# The hosted approval page of voxcart-paysim in headless Chromium (Debian's chromium):
# a phone-sized screen shows the merchant, items, amount and recurring terms; Approve
# creates the charge permission (and notifies the merchant), Decline cancels the
# session; the merchant then completes the approved session through the API.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"

command -v chromium >/dev/null || { echo "chromium is not installed (scripts/deps.sh installs it)"; exit 1; }
paysim_node_deps
start_paysim --throttle off
make_merchant shop1
curl -sS "$PS_URL/_sim/notify-key" >"$T/notify.pub"
node "$SRC/tests/paysim/receiver.js" "$T/received.jsonl" "$T/notify.pub" 0 >"$T/receiver.out" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q '^receiver:' "$T/receiver.out"
sim POST merchants "{\"merchantId\":\"shop1\",\"notifyUrl\":\"http://127.0.0.1:$(sed -n 's/^receiver: //p' "$T/receiver.out")/ipn\"}"

api POST checkoutSessions '{"webCheckoutDetails":{"checkoutReviewReturnUrl":"https://shop.example/review","checkoutResultReturnUrl":"https://shop.example/done"},"chargePermissionType":"Recurring","recurringMetadata":{"frequency":{"unit":"Month","value":"1"},"amount":{"amount":"9.99","currencyCode":"EUR"}},"paymentDetails":{"paymentIntent":"AuthorizeWithCapture","chargeAmount":{"amount":"9.99","currencyCode":"EUR"}},"merchantMetadata":{"merchantStoreName":"Coffee <Shop>","noteToBuyer":"Colombian beans 500 g, every month","customInformation":"<script>alert(1)</script>"}}' -H "x-amz-pay-idempotency-key: page-1"
S1=$(jqb .checkoutSessionId); U1=$(jqb .webCheckoutDetails.amazonPayRedirectUrl)
api POST checkoutSessions '{"webCheckoutDetails":{"checkoutResultReturnUrl":"https://shop.example/done"},"chargePermissionType":"OneTime","paymentDetails":{"paymentIntent":"Authorize","chargeAmount":{"amount":"4.50","currencyCode":"EUR"}}}' -H "x-amz-pay-idempotency-key: page-2"
S2=$(jqb .checkoutSessionId); U2=$(jqb .webCheckoutDetails.amazonPayRedirectUrl)
out=$(cd "$PS_NODE" && timeout 120 node page.js "$U1" "$U2" "$T/approval.png" 2>&1); rc=$?
[ -n "${PAYSIM_SCREENSHOT:-}" ] && cp "$T/approval.png" "$PAYSIM_SCREENSHOT"
echo "$out"
check "every page check passed in headless Chromium" [ "$rc" = 0 ]
check "all of them ran" [ "$(grep -c '^ok' <<<"$out")" -ge 14 ]
check "a screenshot was taken" [ -s "$T/approval.png" ]
PERM=$(sed -n 's/^permission //p' <<<"$out")
sim GET chargePermissions
check "approving created the permission for the chosen buyer" \
  [ "$(jqb ".chargePermissions[]|select(.chargePermissionId==\"$PERM\")|.buyer.buyerId")" = buyer-bob ]
permnote() { grep -q "\"ObjectId\":\"$PERM\"" "$T/received.jsonl" 2>/dev/null; }
wait_for 10 permnote
check "and notified the merchant" permnote
api POST "checkoutSessions/$S1/complete" '{"chargeAmount":{"amount":"9.99","currencyCode":"EUR"}}'
check "the merchant completes the approved session: Completed" [ "$STATUS $(jqb .statusDetails.state) $(jqb .chargePermissionId)" = "200 Completed $PERM" ]
api GET "charges/$(jqb .chargeId)"
check "  with its first charge captured" [ "$(jqb .statusDetails.state)" = Captured ]
api GET "checkoutSessions/$S2"
check "the declined session is Canceled BuyerCanceled" [ "$(jqb .statusDetails.state) $(jqb .statusDetails.reasonCode)" = "Canceled BuyerCanceled" ]
finish_paysim
