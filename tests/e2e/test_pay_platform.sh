#!/usr/bin/env bash
# The platform's Setup/Charge rail (reference section 1), for a shop on rail "platform": yes
# answers with a Setup directive, the platform's Connections.Response (sent here as the
# platform sends it, signed) is matched by its token; Setup OPEN is answered with the Charge
# on the new agreement; the Charge's capture makes the order PAID with a receipt; the same
# response again, a late one and an unknown token change nothing; each decline and error of
# the reference maps to its sentence and ledger state; a suspended agreement is not charged.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/e2e/pay.inc.sh"
jq '.merchant += {rail: "platform", seller_id: "A2SELLER0TEST", country: "DE", sandbox_email: "buyer@example.com", voice_code_threshold: 400}' \
  "$SRC/intents/catalog.json" >"$T/catalog.json"
export VOXCART_CATALOG="$T/catalog.json" VOXCART_PAYMENTS=provider
make_devca
start_redis
start_voxcartd
yes_req=$(make_request yes AMAZON.YesIntent)
directive() { jq -c '.response.directives[]? | select(.type == "Connections.SendRequest")' <<<"$BODY"; }
TOKEN=
# respond USER NAME CODE PAYLOAD [TOKEN]: the platform's Connections.Response
respond() {
  local tok=${5:-$TOKEN}
  jq -c --arg n "$2" --arg c "$3" --argjson p "$4" --arg t "$tok" --arg u "amzn1.ask.account.$1" \
    '.session.new = true | .session.user.userId = $u | .context.System.user.userId = $u |
     .request = {type: "Connections.Response", requestId: ("amzn1.echo-api.request." + ($t | gsub("[^A-Za-z0-9]"; ""))[0:20] + ($n)),
                 timestamp: .request.timestamp, locale: "en-US", name: $n,
                 status: {code: $c, message: (if $c == "200" then "OK" else "Error" end)}, payload: $p, token: $t}' \
    "$(make_request conn LaunchRequest)" >"$T/resp.json"
  signed "$T/resp.json" --restamp
}
captured() { # the Charge's answer: captured in full
  jq -nc --arg k "$1" --arg a "$2" '{amazonOrderReferenceId: "S02-1", authorizationDetails: {amazonAuthorizationId: ("S02-1-A" + $k[-6:]), authorizationReferenceId: $k,
    authorizationAmount: {amount: $a, currencyCode: "EUR"}, capturedAmount: {amount: $a, currencyCode: "EUR"},
    authorizationStatus: {state: "Closed", reasonCode: "MaxCapturesProcessed"}, softDecline: false, captureNow: true}}'
}
declined() { # declined KEY REASON SOFT
  jq -nc --arg k "$1" --arg r "$2" --argjson s "$3" '{authorizationDetails: {amazonAuthorizationId: "S02-1-D", authorizationReferenceId: $k,
    authorizationStatus: {state: "Declined", reasonCode: $r}, softDecline: $s}}'
}
error_payload() { jq -nc --arg c "$1" '{errorCode: $c, errorMessage: "as the platform says"}'; }
ledger_len() { rcli LLEN "vx:{$SKILL:amzn1.ask.account.$1}:ledger:$(last_order "$1")"; }

# --- first purchase: Setup, then Charge ---
order_and_yes pia
D=$(directive)
TOKEN=$(jq -r .token <<<"$D")
KEY=${TOKEN%.setup}
check "yes answers with a Setup directive naming the shop's seller, country, currency, language and the sandbox" \
  [ "$(jq -c '[.name, .payload."@type", .payload.sellerId, .payload.countryOfEstablishment, .payload.ledgerCurrency, .payload.checkoutLanguage, .payload.sandboxMode, .payload.sandboxCustomerEmailId]' <<<"$D")" = \
    '["Setup","SetupAmazonPayRequest","A2SELLER0TEST","DE","EUR","en_US",true,"buyer@example.com"]' ]
check "... its token names the order's attempt key, the session ends, the order waits CHARGE_PENDING" all_of \
  [ "$TOKEN" = "$(last_order pia)-1.setup" ] -- [ "$(jq .response.shouldEndSession <<<"$BODY")" = true ] -- \
  [ "$(order_field pia state)" = '"CHARGE_PENDING"' ] -- [ "$(order_field pia pay_key)" = "\"$KEY\"" ]
respond pia Setup 200 '{"billingAgreementDetails":{"billingAgreementId":"C02-5320354-ABCDEFG","billingAgreementStatus":"OPEN","releaseEnvironment":"SANDBOX"}}'
D=$(directive)
check "Setup OPEN: the answer is the Charge on the new agreement, AuthorizeAndCapture of 5.00 EUR, keyed by the attempt" \
  [ "$(jq -c '[.name, .payload.billingAgreementId, .payload.paymentAction, .payload.authorizeAttributes.authorizationReferenceId, .payload.authorizeAttributes.authorizationAmount.amount, .payload.authorizeAttributes.transactionTimeout, .token]' <<<"$D")" = \
    "[\"Charge\",\"C02-5320354-ABCDEFG\",\"AuthorizeAndCapture\",\"$KEY\",\"5.00\",0,\"$KEY.charge\"]" ]
check "... the agreement is saved OPEN" [ "$(rcli HGET "$(profile_key pia)" platform_agreement | jq -r .status)" = OPEN ]
TOKEN="$KEY.charge"
respond pia Charge 200 "$(captured "$KEY" 5.00)"
check "the capture (Closed, MaxCapturesProcessed): PAID, spoken, with a receipt card" all_of paid pia -- \
  contains "$BODY" "charged 5 euros" -- [ "$(jq -r .response.card.title <<<"$BODY")" != null ]
check "... the ledger says the platform settled it, with the authorization" all_of \
  contains "$(rcli LRANGE "vx:{$SKILL:amzn1.ask.account.pia}:ledger:$(last_order pia)" -1 -1)" '"actor":"platform"' -- \
  [ "$(order_field pia charge_id)" = "\"S02-1-A${KEY: -6}\"" ]
n=$(ledger_len pia)
respond pia Charge 200 "$(captured "$KEY" 5.00)"
check "the same response again changes nothing, and says it is taken care of" all_of \
  contains "$BODY" "already taken care of" -- paid pia -- [ "$(ledger_len pia)" = "$n" ]
check "... the merchant's log: one order.paid for it, naming the authorization (the repeat wrote none)" \
  [ "$(rcli HVALS 'vx:{m:demo}:events' | jq -r --arg o "$(last_order pia)" 'select(.type == "order.paid" and .data.order_id == $o) | .data.charge_id')" = "S02-1-A${KEY: -6}" ]
respond pia Setup 200 '{"billingAgreementDetails":{"billingAgreementId":"C02-OTHER","billingAgreementStatus":"OPEN"}}' "$KEY.setup"
check "a late Setup response changes nothing either" all_of \
  contains "$BODY" "already taken care of" -- [ "$(rcli HGET "$(profile_key pia)" platform_agreement | jq -r .id)" = C02-5320354-ABCDEFG ]
respond pia Charge 200 "$(captured x 5.00)" "nonsense-token"
check "an unknown token: answered politely, nothing changed" all_of \
  [ "$STATUS" = 200 ] -- [ "$(ledger_len pia)" = "$n" ] -- grep -q "unknown token 'nonsense-token'" "$T/voxcartd.log"

# --- the next order is charged on the OPEN agreement; a hard decline suspends it ---
order_and_yes pia
D=$(directive); TOKEN=$(jq -r .token <<<"$D"); KEY=${TOKEN%.charge}
check "with an OPEN agreement yes answers with the Charge at once" [ "$(jq -r .name <<<"$D")" = Charge ]
respond pia Charge 200 "$(declined "$KEY" InvalidPaymentMethod false)"
check "InvalidPaymentMethod (hard): DECLINED, how to fix it, the agreement SUSPENDED" all_of \
  [ "$(order_field pia state)" = '"DECLINED"' ] -- contains "$BODY" "how to update it" -- \
  [ "$(rcli HGET "$(profile_key pia)" platform_agreement | jq -r .status)" = SUSPENDED ]
order_and_yes pia
check "a suspended agreement is not charged: the next yes is a Setup" [ "$(directive | jq -r .name)" = Setup ]

# --- soft decline, one more try with a new key ---
rcli HSET "$(profile_key pia)" platform_agreement '{"id":"C02-5320354-ABCDEFG","status":"OPEN"}' >/dev/null
order_and_yes pia
TOKEN=$(directive | jq -r .token); KEY=${TOKEN%.charge}
respond pia Charge 200 "$(declined "$KEY" ProcessingFailure true)"
check "ProcessingFailure (soft): DECLINED and offered one more try" all_of \
  [ "$(order_field pia state)" = '"DECLINED"' ] -- contains "$BODY" "Shall I try once more"
signed "$(as_user pia "$yes_req")" --restamp
check "yes: the Charge again with a new attempt key" all_of \
  [ "$(directive | jq -r .payload.authorizeAttributes.authorizationReferenceId)" = "$(last_order pia)-2" ] -- \
  [ "$(order_field pia state)" = '"CHARGE_PENDING"' ]

# --- the voice code on this rail: asked before the Charge, from the threshold (4.00 EUR) ---
python3 -c '
import hashlib, json, os
salt = os.urandom(16)
print(json.dumps({"alg": "pbkdf2-sha256", "iter": 20000, "salt": salt.hex(),
                  "hash": hashlib.pbkdf2_hmac("sha256", b"2580", salt, 20000).hex()}, separators=(",", ":")))' >"$T/vcode.json"
rcli HSET "$(profile_key quin)" voice_code "$(cat "$T/vcode.json")" \
  platform_agreement '{"id":"C02-QUIN","status":"OPEN"}' >/dev/null
order_and_yes quin
check "with a voice code set, yes asks for it instead of sending the Charge" all_of \
  contains "$BODY" "so I need your voice code" -- [ -z "$(directive)" ]
sed 's/"name":"VoiceCodeIntent","confirmationStatus":"NONE"}/"name":"VoiceCodeIntent","confirmationStatus":"NONE","slots":{"code":{"name":"code","value":"2580"}}}/' \
  "$(make_request vc VoiceCodeIntent)" >"$T/vc2580.json"
signed "$(as_user quin "$T/vc2580.json")" --restamp
check "... the right code sends the Charge on the agreement" \
  [ "$(directive | jq -c '[.name, .payload.billingAgreementId]')" = '["Charge","C02-QUIN"]' ]

# --- errors ---
order_and_yes pia
TOKEN=$(directive | jq -r .token)
respond pia Charge 403 "$(error_payload VoicePurchaseNotEnabled)"
check "a permission error: FAILED, and a card asks for payments:autopay_consent" all_of \
  [ "$(order_field pia state)" = '"FAILED"' ] -- \
  [ "$(jq -c '[.response.card.type, .response.card.permissions[0]]' <<<"$BODY")" = '["AskForPermissionsConsent","payments:autopay_consent"]' ]
order_and_yes pia
TOKEN=$(directive | jq -r .token)
respond pia Charge 400 "$(error_payload InvalidAccountStatus)"
check "an error the platform speaks itself: FAILED and no speech of ours" all_of \
  [ "$(order_field pia state)" = '"FAILED"' ] -- [ "$(jq .response.outputSpeech <<<"$BODY")" = null ]
order_and_yes pia
TOKEN=$(directive | jq -r .token)
respond pia Charge 400 "$(error_payload InvalidSellerId)"
check "a merchant integration error: FAILED, an apology, logged loudly" all_of \
  [ "$(order_field pia state)" = '"FAILED"' ] -- contains "$BODY" "couldn" -- \
  grep -q "refuses our integration: InvalidSellerId" "$T/voxcartd.log"
order_and_yes pia
TOKEN=$(directive | jq -r .token)
respond pia Charge 400 "$(error_payload PeriodicAmountExceeded)"
check "PeriodicAmountExceeded: DECLINED with the limit's sentence" all_of \
  [ "$(order_field pia state)" = '"DECLINED"' ] -- contains "$BODY" "above what your payment method allows"
finish
