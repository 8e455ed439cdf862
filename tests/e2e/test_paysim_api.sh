#!/usr/bin/env bash
# voxcart-paysim: every operation of the provider API and its outcomes, with requests
# signed independently of the sandbox (openssl CLI, tests/paysim/lib.sh).
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"

start_paysim --throttle off --pending-seconds 30 --refund-seconds 5
make_merchant shop1
is() { [ "$1" = "$2" ] || { echo "  expected '$2', got '$1'"; return 1; }; }

charge_body() { # PERM AMOUNT CUR CAPTURE [extra json]
  echo "{\"chargePermissionId\":\"$1\",\"chargeAmount\":{\"amount\":\"$2\",\"currencyCode\":\"$3\"},\"captureNow\":$4${5:+,$5}}"
}
KEYN=0
key() { echo "k$(date +%s%N)"; } # unique in the run, even when called in a subshell ($RANDOM may repeat)
new_perm() { # [instrument] [type]
  sim POST chargePermissions "{\"merchantId\":\"shop1\",\"chargePermissionType\":\"${2:-Recurring}\",\"instrument\":\"${1:-card-ok}\",\"amount\":{\"amount\":\"20.00\",\"currencyCode\":\"EUR\"},\"limit\":{\"amount\":\"50.00\",\"currencyCode\":\"EUR\"}}"
  jqb .chargePermissionId
}

# charge permissions
P=$(new_perm)
api GET "chargePermissions/$P"
check "get charge permission: 200 Chargeable" is "$STATUS $(jqb .statusDetails.state)" "200 Chargeable"
check "recurring permission: type, frequency and monthly limit" \
  is "$(jqb '.chargePermissionType+" "+.recurringMetadata.frequency.unit+" "+.limits.amountLimit.amount')" "Recurring Month 1000.00"
api GET "chargePermissions/B02-0000000-0000000"
check "unknown permission: 404 ResourceNotFound" is "$STATUS $(jqb .reasonCode)" "404 ResourceNotFound"
PS_PREFIX=/live/v2 api GET "chargePermissions/$P"
check "a sandbox permission does not exist in live" is "$STATUS" 404

# many alike in one set-up request (the biller's benchmark): as many distinct IDs as asked,
# each a permission of its own that the API reads with the terms given
sim POST chargePermissions/bulk '{"merchantId":"shop1","count":300,"instrument":"card-ok","frequency":{"unit":"Week","value":"1"},"amount":{"amount":"4.50","currencyCode":"EUR"}}'
check "bulk set-up: 201 with 300 distinct IDs" \
  is "$STATUS $(jqb '.chargePermissionIds | length') $(jqb '.chargePermissionIds | unique | length')" "201 300 300"
PB=$(jqb '.chargePermissionIds[299]')
api GET "chargePermissions/$PB"
check "a bulk permission is Chargeable, weekly, with its amount" \
  is "$STATUS $(jqb '.statusDetails.state+" "+.recurringMetadata.frequency.unit+" "+.recurringMetadata.amount.amount')" "200 Chargeable Week 4.50"
sim GET "chargePermissions?merchantId=shop1"
check "the ledger lists them with the one made before" is "$(jqb '.chargePermissions | length')" 301
for bad in '"count":0' '"count":200001' '"count":"3"'; do
  sim POST chargePermissions/bulk "{\"merchantId\":\"shop1\",$bad}"
  check "bulk set-up with $bad: 400" is "$STATUS $(jqb .error.code)" "400 bad_request"
done
sim POST chargePermissions/bulk '{"merchantId":"nobody","count":2}'
check "bulk set-up for an unknown merchant: 404" is "$STATUS" 404
sim GET "chargePermissions?merchantId=shop1"
check "the refused requests made nothing" is "$(jqb '.chargePermissions | length')" 301

# charges: capture now, authorize then capture, cancel
api POST charges "$(charge_body "$P" 12.50 EUR true)" -H "x-amz-pay-idempotency-key: $(key)"
C1=$(jqb .chargeId)
check "create charge captureNow: 201 Captured" is "$STATUS $(jqb .statusDetails.state)" "201 Captured"
check "captured amount as a string" is "$(jqb .captureAmount.amount)" "12.50"
api GET "charges/$C1"
check "get charge: 200 with the same id" is "$STATUS $(jqb .chargeId)" "200 $C1"
api POST charges "$(charge_body "$P" 5 EUR false)" -H "x-amz-pay-idempotency-key: $(key)"
C2=$(jqb .chargeId)
check "create charge authorize only: 201 Authorized" is "$STATUS $(jqb .statusDetails.state)" "201 Authorized"
check "authorization expires (30 days)" [ "$(jqb .expirationTimestamp)" != null ]
api POST "charges/$C2/capture" '{"captureAmount":{"amount":"5.01","currencyCode":"EUR"}}' -H "x-amz-pay-idempotency-key: $(key)"
check "capture above the authorization: TransactionAmountExceeded" is "$STATUS $(jqb .reasonCode)" "400 TransactionAmountExceeded"
api POST "charges/$C2/capture" '{"captureAmount":{"amount":"5.00","currencyCode":"EUR"},"softDescriptor":"COFFEE"}' -H "x-amz-pay-idempotency-key: $(key)"
check "capture: 200 Captured" is "$STATUS $(jqb .statusDetails.state) $(jqb .captureAmount.amount)" "200 Captured 5.00"
api POST "charges/$C2/capture" '{"captureAmount":{"amount":"5.00","currencyCode":"EUR"}}' -H "x-amz-pay-idempotency-key: $(key)"
check "capture of a captured charge: 422 InvalidChargeStatus" is "$STATUS $(jqb .reasonCode)" "422 InvalidChargeStatus"
api POST charges "$(charge_body "$P" 3.00 EUR false)" -H "x-amz-pay-idempotency-key: $(key)"
C3=$(jqb .chargeId)
api DELETE "charges/$C3/cancel" '{"cancellationReason":"customer changed their mind"}'
check "cancel an authorization: Canceled MerchantCanceled" is "$STATUS $(jqb .statusDetails.state) $(jqb .statusDetails.reasonCode)" "200 Canceled MerchantCanceled"
api DELETE "charges/$C1/cancel"
check "cancel a captured charge: 422 InvalidChargeStatus" is "$STATUS $(jqb .reasonCode)" "422 InvalidChargeStatus"

# amounts on the wire
for bad in '"12.505"' '"-1.00"' '"1e3"' '" 12.50"' '"12."' '".50"' '""' '12.50' '"12,50"'; do
  api POST charges "{\"chargePermissionId\":\"$P\",\"chargeAmount\":{\"amount\":$bad,\"currencyCode\":\"EUR\"},\"captureNow\":true}" -H "x-amz-pay-idempotency-key: $(key)"
  check "malformed amount $bad: 400 InvalidParameterValue" is "$STATUS $(jqb .reasonCode)" "400 InvalidParameterValue"
done
api POST charges "$(charge_body "$P" 0.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)"
check "zero amount refused" is "$STATUS $(jqb .reasonCode)" "400 InvalidParameterValue"
api POST charges "$(charge_body "$P" 1.00 XYZ true)" -H "x-amz-pay-idempotency-key: $(key)"
check "unknown currency refused" is "$STATUS $(jqb .reasonCode)" "400 InvalidParameterValue"
api POST charges "$(charge_body "$P" 1.00 USD true)" -H "x-amz-pay-idempotency-key: $(key)"
check "currency other than the permission's: CurrencyMismatch" is "$STATUS $(jqb .reasonCode)" "400 CurrencyMismatch"
api POST charges "{\"chargePermissionId\":\"$P\",\"captureNow\":true}" -H "x-amz-pay-idempotency-key: $(key)"
check "missing chargeAmount: MissingParameterValue" is "$STATUS $(jqb .reasonCode)" "400 MissingParameterValue"
api POST charges "$(charge_body "$P" 1.00 EUR true '"colour":"red"')" -H "x-amz-pay-idempotency-key: $(key)"
check "unknown field: UnrecognizedField" is "$STATUS $(jqb .reasonCode)" "400 UnrecognizedField"
api POST charges "$(charge_body "$P" 1.00 EUR false '"softDescriptor":"X"')" -H "x-amz-pay-idempotency-key: $(key)"
check "softDescriptor without captureNow: InvalidParameterCombination" is "$STATUS $(jqb .reasonCode)" "400 InvalidParameterCombination"
api POST charges '{"chargePermissionId":' -H "x-amz-pay-idempotency-key: $(key)"
check "broken JSON: InvalidRequestFormat" is "$STATUS $(jqb .reasonCode)" "400 InvalidRequestFormat"
api POST charges "$(charge_body "$P" 1.00 EUR true)"
check "no idempotency key: MissingHeaderValue" is "$STATUS $(jqb .reasonCode)" "400 MissingHeaderValue"
api PUT "charges/$C1"
check "wrong method: 405 UnsupportedOperation" is "$STATUS $(jqb .reasonCode)" "405 UnsupportedOperation"

# declines by simulation code and by test instrument
for code in SoftDeclined HardDeclined AmazonRejected TransactionTimedOut ProcessingFailure MFAFailed; do
  P2=$(new_perm)
  api POST charges "$(charge_body "$P2" 2.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)" -H "x-amz-pay-simulation-code: $code"
  check "simulation $code: 422 $code" is "$STATUS $(jqb .reasonCode)" "422 $code"
done
api GET "chargePermissions/$P2"
sim GET "charges?chargePermissionId=$P2"
check "a declined charge stays in the ledger as Declined" is "$(jqb '.charges[0].statusDetails.state')" Declined
api POST charges "$(charge_body "$P" 2.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)" -H "x-amz-pay-simulation-code: Bogus"
check "invalid simulation code: InvalidSandboxSimulationSpecified" is "$STATUS $(jqb .reasonCode)" "400 InvalidSandboxSimulationSpecified"
P3=$(new_perm card-hard-decline)
api POST charges "$(charge_body "$P3" 2.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)"
check "hard-decline instrument: 422 HardDeclined" is "$STATUS $(jqb .reasonCode)" "422 HardDeclined"
api GET "chargePermissions/$P3"
check "after HardDeclined the permission is NonChargeable (PaymentMethodInvalid)" \
  is "$(jqb '.statusDetails.state+" "+.statusDetails.reasons[0].reasonCode')" "NonChargeable PaymentMethodInvalid"
api POST charges "$(charge_body "$P3" 2.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)"
check "a NonChargeable permission is refused: 422 InvalidChargePermissionStatus" is "$STATUS $(jqb .reasonCode)" "422 InvalidChargePermissionStatus"
sim POST "chargePermissions/$P3/fix" '{}'
check "fixed through the set-up interface: Chargeable" is "$STATUS $(jqb .statusDetails.state)" "200 Chargeable"
api POST charges "$(charge_body "$P3" 2.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)"
check "charged again after the fix" is "$STATUS $(jqb .statusDetails.state)" "201 Captured"
for pair in card-soft-decline:SoftDeclined card-processing-failure:ProcessingFailure card-amazon-rejected:AmazonRejected card-mfa-failed:MFAFailed; do
  P4=$(new_perm "${pair%%:*}")
  api POST charges "$(charge_body "$P4" 2.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)"
  check "instrument ${pair%%:*}: ${pair#*:}" is "$STATUS $(jqb .reasonCode)" "422 ${pair#*:}"
done

# pending: then authorized, then declined; and a merchant that cannot wait
P5=$(new_perm card-pending-ok)
api POST charges "$(charge_body "$P5" 4.00 EUR true '"canHandlePendingAuthorization":true')" -H "x-amz-pay-idempotency-key: $(key)"
C5=$(jqb .chargeId)
check "pending instrument: 201 AuthorizationInitiated" is "$STATUS $(jqb .statusDetails.state)" "201 AuthorizationInitiated"
P6=$(new_perm card-pending-declined)
api POST charges "$(charge_body "$P6" 4.00 EUR false '"canHandlePendingAuthorization":true')" -H "x-amz-pay-idempotency-key: $(key)"
C6=$(jqb .chargeId)
api POST charges "$(charge_body "$P5" 4.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)"
check "pending instrument without canHandlePendingAuthorization: TransactionTimedOut" is "$STATUS $(jqb .reasonCode)" "422 TransactionTimedOut"
sim POST clock '{"advanceSeconds":31}'
api GET "charges/$C5"
check "pending, 31 s later: Captured" is "$(jqb .statusDetails.state)" Captured
api GET "charges/$C6"
check "pending-declined, 31 s later: Declined HardDeclined" is "$(jqb .statusDetails.state) $(jqb .statusDetails.reasonCode)" "Declined HardDeclined"
api GET "chargePermissions/$P6"
check "and its permission is NonChargeable" is "$(jqb .statusDetails.state)" NonChargeable
P7=$(new_perm)
api POST charges "$(charge_body "$P7" 4.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)" -H "x-amz-pay-simulation-code: CaptureInitiated"
C7=$(jqb .chargeId)
check "simulation CaptureInitiated: 201 CaptureInitiated" is "$STATUS $(jqb .statusDetails.state)" "201 CaptureInitiated"
sim POST clock '{"advanceSeconds":31}'
api GET "charges/$C7"
check "CaptureInitiated settles to Captured" is "$(jqb .statusDetails.state)" Captured
api POST charges "$(charge_body "$P7" 4.00 EUR false)" -H "x-amz-pay-idempotency-key: $(key)"
C8=$(jqb .chargeId)
sim POST clock '{"advanceDays":31}'
api GET "charges/$C8"
check "an authorization unused for 30 days: Canceled ExpiredUnused" is "$(jqb .statusDetails.state) $(jqb .statusDetails.reasonCode)" "Canceled ExpiredUnused"

# refunds: never above what was captured
api POST refunds "{\"chargeId\":\"$C1\",\"refundAmount\":{\"amount\":\"10.00\",\"currencyCode\":\"EUR\"}}" -H "x-amz-pay-idempotency-key: $(key)"
R1=$(jqb .refundId)
check "refund: 201 RefundInitiated" is "$STATUS $(jqb .statusDetails.state)" "201 RefundInitiated"
api POST refunds "{\"chargeId\":\"$C1\",\"refundAmount\":{\"amount\":\"2.51\",\"currencyCode\":\"EUR\"}}" -H "x-amz-pay-idempotency-key: $(key)"
check "refund above what is left of the capture: TransactionAmountExceeded" is "$STATUS $(jqb .reasonCode)" "400 TransactionAmountExceeded"
api POST refunds "{\"chargeId\":\"$C1\",\"refundAmount\":{\"amount\":\"2.50\",\"currencyCode\":\"EUR\"}}" -H "x-amz-pay-idempotency-key: $(key)"
check "refund of exactly the rest: 201" is "$STATUS" 201
api POST refunds "{\"chargeId\":\"$C3\",\"refundAmount\":{\"amount\":\"1.00\",\"currencyCode\":\"EUR\"}}" -H "x-amz-pay-idempotency-key: $(key)"
check "refund of a charge that was not captured: 422 InvalidChargeStatus" is "$STATUS $(jqb .reasonCode)" "422 InvalidChargeStatus"
api GET "charges/$C1"
check "the charge shows what was refunded" is "$(jqb .refundedAmount.amount)" "12.50"
sim POST clock '{"advanceSeconds":6}'
api GET "refunds/$R1"
check "get refund after it settled: Refunded" is "$STATUS $(jqb .statusDetails.state) $(jqb .refundAmount.amount)" "200 Refunded 10.00"
api POST refunds "{\"chargeId\":\"$C5\",\"refundAmount\":{\"amount\":\"1.00\",\"currencyCode\":\"EUR\"}}" -H "x-amz-pay-idempotency-key: $(key)" -H "x-amz-pay-simulation-code: RefundDeclined"
R2=$(jqb .refundId)
sim POST clock '{"advanceSeconds":6}'
api GET "refunds/$R2"
check "simulated refund decline: Declined" is "$(jqb .statusDetails.state)" Declined
api GET "charges/$C5"
check "a declined refund gives the amount back" is "$(jqb .refundedAmount.amount)" "0.00"

# one-time permission: its amount is its limit
P9=$(new_perm card-ok OneTime)
api POST charges "$(charge_body "$P9" 50.01 EUR true)" -H "x-amz-pay-idempotency-key: $(key)"
check "one-time permission above its amount: TransactionAmountExceeded" is "$STATUS $(jqb .reasonCode)" "400 TransactionAmountExceeded"
api POST charges "$(charge_body "$P9" 50.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)"
check "one-time permission, its amount: 201" is "$STATUS" 201

# close
api DELETE "chargePermissions/$P7/close" '{"closureReason":"subscription ended","cancelPendingCharges":true}'
check "close permission: Closed MerchantClosed" is "$STATUS $(jqb '.statusDetails.state+" "+.statusDetails.reasons[0].reasonCode')" "200 Closed MerchantClosed"
api POST charges "$(charge_body "$P7" 1.00 EUR true)" -H "x-amz-pay-idempotency-key: $(key)"
check "a Closed permission cannot be charged" is "$STATUS $(jqb .reasonCode)" "422 InvalidChargePermissionStatus"

# checkout session: create, get, complete before approval refused, approve, complete
api POST checkoutSessions '{"webCheckoutDetails":{"checkoutReviewReturnUrl":"https://shop.example/review","checkoutResultReturnUrl":"https://shop.example/result"},"storeId":"amzn1.application-oa2-client.test","chargePermissionType":"Recurring","recurringMetadata":{"frequency":{"unit":"Month","value":"1"},"amount":{"amount":"9.99","currencyCode":"EUR"}},"paymentDetails":{"paymentIntent":"AuthorizeWithCapture","chargeAmount":{"amount":"9.99","currencyCode":"EUR"}},"merchantMetadata":{"merchantStoreName":"Coffee","noteToBuyer":"Beans every month"}}' -H "x-amz-pay-idempotency-key: $(key)"
S=$(jqb .checkoutSessionId)
check "create checkout session: 201 Open with a redirect URL" is "$STATUS $(jqb .statusDetails.state) $(jqb '.webCheckoutDetails.amazonPayRedirectUrl|test("/checkout/")')" "201 Open true"
api GET "checkoutSessions/$S"
check "get checkout session" is "$STATUS $(jqb .chargePermissionType)" "200 Recurring"
api POST "checkoutSessions/$S/complete" '{"chargeAmount":{"amount":"9.99","currencyCode":"EUR"}}'
check "complete before the buyer approved: 422" is "$STATUS $(jqb .reasonCode)" "422 InvalidCheckoutSessionStatus"
sim POST "checkoutSessions/$S/approve" '{"buyerId":"buyer-alice","instrument":"card-ok"}'
check "approve through the set-up interface" is "$STATUS" 200
api POST "checkoutSessions/$S/complete" '{"chargeAmount":{"amount":"9.98","currencyCode":"EUR"}}'
check "complete with another amount: 400" is "$STATUS $(jqb .reasonCode)" "400 InvalidParameterValue"
api POST "checkoutSessions/$S/complete" '{"chargeAmount":{"amount":"9.99","currencyCode":"EUR"}}'
check "complete: Completed with a permission and a captured charge" \
  is "$STATUS $(jqb .statusDetails.state) $(jqb '.chargePermissionId != null and .chargeId != null')" "200 Completed true"
SP=$(jqb .chargePermissionId)
SC=$(jqb .chargeId)
api GET "charges/$SC"
check "the session's charge is Captured" is "$(jqb .statusDetails.state)" Captured
api GET "chargePermissions/$SP"
check "the session's permission is Recurring and Chargeable" is "$(jqb .chargePermissionType) $(jqb .statusDetails.state)" "Recurring Chargeable"
api POST checkoutSessions '{"webCheckoutDetails":{"checkoutResultReturnUrl":"https://shop.example/result"},"paymentDetails":{"paymentIntent":"Authorize"}}' -H "x-amz-pay-idempotency-key: $(key)"
check "Authorize without chargeAmount: MissingParameterValue" is "$STATUS $(jqb .reasonCode)" "400 MissingParameterValue"
api POST checkoutSessions '{"paymentDetails":{"paymentIntent":"Confirm"},"chargePermissionType":"OneTime"}' -H "x-amz-pay-idempotency-key: $(key)"
S2=$(jqb .checkoutSessionId)
sim POST "checkoutSessions/$S2/decline" '{}'
api POST "checkoutSessions/$S2/complete" '{"chargeAmount":{"amount":"1.00","currencyCode":"EUR"}}'
check "complete a declined session: 422 CheckoutSessionCanceled" is "$STATUS $(jqb .reasonCode)" "422 CheckoutSessionCanceled"

# another merchant sees none of it
make_merchant shop2
api GET "charges/$C1"
check "another merchant's charge is not found" is "$STATUS" 404
finish_paysim
