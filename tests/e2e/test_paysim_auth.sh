#!/usr/bin/env bash
# voxcart-paysim: the signature is checked as the provider checks it, and idempotency
# keys replay the stored answer (failures included) or refuse a different request.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"

start_paysim --throttle off
make_merchant shop1 SANDBOX-shop1-key
is() { [ "$1" = "$2" ] || { echo "  expected '$2', got '$1'"; return 1; }; }
sim POST chargePermissions '{"merchantId":"shop1","amount":{"amount":"10.00","currencyCode":"USD"}}'
P=$(jqb .chargePermissionId)
body() { echo "{\"chargePermissionId\":\"$P\",\"chargeAmount\":{\"amount\":\"$1\",\"currencyCode\":\"USD\"},\"captureNow\":true}"; }

api GET "chargePermissions/$P"
check "V2 signature over the five headers: 200" is "$STATUS" 200
PS_ALG=V1 api GET "chargePermissions/$P"
check "the older salt-20 algorithm: 200" is "$STATUS" 200
api GET "chargePermissions/$P" -H "user-agent: amazon-pay-api-sdk-nodejs/2.3.4" -H "x-amz-pay-extra: 1"
check "more signed headers than the five (as the Node SDK signs): 200" is "$STATUS" 200
PS_PREFIX=/v2 api GET "chargePermissions/$P"
check "/v2/ with an environment-specific key ID: 200" is "$STATUS" 200

PS_TAMPER_BODY="$(body 9.99)" api POST charges "$(body 1.00)" -H "x-amz-pay-idempotency-key: tamper1"
check "body changed after signing: 403 InvalidRequestSignature" is "$STATUS $(jqb .reasonCode)" "403 InvalidRequestSignature"
PS_DROP=x-amz-pay-region api GET "chargePermissions/$P"
check "a signed header missing from the request: 403" is "$STATUS $(jqb .reasonCode)" "403 InvalidRequestSignature"
check "  the message names it" contains "$BODY" x-amz-pay-region
PS_DROP=x-amz-pay-idempotency-key api POST charges "$(body 1.00)" -H "x-amz-pay-idempotency-key: drop1"
check "the signed idempotency key dropped: refused" is "$STATUS" 403
PS_SIGNED="accept;content-type;x-amz-pay-date;x-amz-pay-host" api GET "chargePermissions/$P"
check "SignedHeaders without x-amz-pay-region: 403" is "$STATUS $(jqb .reasonCode)" "403 InvalidRequestSignature"
check "  the message names the missing one" contains "$BODY" x-amz-pay-region
PS_KEY_ID=SANDBOX-nobody api GET "chargePermissions/$P"
check "unknown public key ID: 401 UnauthorizedAccess" is "$STATUS $(jqb .reasonCode)" "401 UnauthorizedAccess"
PS_DATE=$(date -u -d '-16 minutes' +%Y%m%dT%H%M%SZ) api GET "chargePermissions/$P"
check "date 16 minutes old: 400 InvalidHeaderValue" is "$STATUS $(jqb .reasonCode)" "400 InvalidHeaderValue"
PS_DATE=$(date -u -d '+16 minutes' +%Y%m%dT%H%M%SZ) api GET "chargePermissions/$P"
check "date 16 minutes ahead: refused" is "$STATUS" 400
PS_DATE=$(date -u -d '-14 minutes' +%Y%m%dT%H%M%SZ) api GET "chargePermissions/$P"
check "date 14 minutes old: accepted" is "$STATUS" 200
PS_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) api GET "chargePermissions/$P"
check "the Node SDK's ISO date form: accepted" is "$STATUS" 200
PS_DATE=garbage api GET "chargePermissions/$P"
check "malformed date: 400 InvalidHeaderValue" is "$STATUS $(jqb .reasonCode)" "400 InvalidHeaderValue"
ORIG_KEY=$KEY_FILE
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/other.key" 2>/dev/null
KEY_FILE=$T/other.key api GET "chargePermissions/$P"
check "signed with another private key: 403" is "$STATUS $(jqb .reasonCode)" "403 InvalidRequestSignature"
KEY_FILE=$ORIG_KEY
BODY=$(curl -sS -o - -w '\n%{http_code}' "$PS_URL/sandbox/v2/chargePermissions/$P")
STATUS=${BODY##*$'\n'}; BODY=${BODY%$'\n'*}
check "no authorization header: 400 MissingHeader" is "$STATUS $(jqb .reasonCode)" "400 MissingHeader"
BODY=$(curl -sS -o - -w '\n%{http_code}' -H 'authorization: Bearer x' "$PS_URL/sandbox/v2/chargePermissions/$P")
STATUS=${BODY##*$'\n'}; BODY=${BODY%$'\n'*}
check "malformed authorization header: 403 InvalidAuthentication" is "$STATUS $(jqb .reasonCode)" "403 InvalidAuthentication"
make_merchant shop9 shop9-plain-key
PS_PREFIX=/v2 api GET "chargePermissions/$P"
check "/v2/ with a key ID that names no environment: 400" is "$STATUS $(jqb .reasonCode)" "400 InvalidRequest"
sim POST merchants/shop1/keys "$(jq -n --rawfile p "$T/shop9.pub" '{publicKeyId:"SANDBOX-shop1-second", publicKeyPem:$p}')"
check "a second key registered for a merchant" is "$STATUS" 201
KEY_ID=SANDBOX-shop1-second KEY_FILE=$T/shop9.key api GET "chargePermissions/$P"
check "  requests signed with it are the merchant's" is "$STATUS" 200
KEY_ID=SANDBOX-shop1-key
KEY_FILE=$ORIG_KEY

# idempotency
api POST charges "$(body 1.00)" -H "x-amz-pay-idempotency-key: order-1_A"
FIRST=$BODY
check "first request with a key: 201" is "$STATUS" 201
api POST charges "$(body 1.00)" -H "x-amz-pay-idempotency-key: order-1_A"
check "same key, same request: the stored answer replayed" is "$STATUS $BODY" "201 $FIRST"
sim GET "charges?chargePermissionId=$P"
check "  and one charge in the ledger" is "$(jqb '.charges|length')" 1
api POST charges "$(body 2.00)" -H "x-amz-pay-idempotency-key: order-1_A"
check "same key, another amount: DuplicateIdempotencyKey" is "$STATUS $(jqb .reasonCode)" "400 DuplicateIdempotencyKey"
api POST charges "$(body 1.00)" -H "x-amz-pay-idempotency-key: order-1_A" -H "x-amz-pay-simulation-code: SoftDeclined"
check "same key and body, different headers: still the replay" is "$STATUS" 201
api POST charges "$(body 1.00)" -H "x-amz-pay-idempotency-key: fail-1" -H "x-amz-pay-simulation-code: SoftDeclined"
check "a declined request" is "$STATUS $(jqb .reasonCode)" "422 SoftDeclined"
api POST charges "$(body 1.00)" -H "x-amz-pay-idempotency-key: fail-1"
check "its key replays the failure" is "$STATUS $(jqb .reasonCode)" "422 SoftDeclined"
api POST charges "$(body 20000.00)" -H "x-amz-pay-idempotency-key: fail-2"
api POST charges "$(body 20000.00)" -H "x-amz-pay-idempotency-key: fail-2"
check "a refused request's key replays the refusal" is "$STATUS $(jqb .reasonCode)" "400 PeriodicAmountExceeded"
api POST charges "$(body 1.00)" -H "x-amz-pay-idempotency-key: $(printf 'a%.0s' $(seq 33))"
check "key of 33 characters: InvalidHeaderValue" is "$STATUS $(jqb .reasonCode)" "400 InvalidHeaderValue"
api POST charges "$(body 1.00)" -H "x-amz-pay-idempotency-key: $(printf 'a%.0s' $(seq 32))"
check "key of 32 characters: accepted" is "$STATUS" 201
api POST charges "$(body 1.00)" -H "x-amz-pay-idempotency-key: bad.key"
check "key with '.': InvalidHeaderValue" is "$STATUS $(jqb .reasonCode)" "400 InvalidHeaderValue"
sim POST chargePermissions '{"merchantId":"shop9","amount":{"amount":"10.00","currencyCode":"USD"}}'
P9=$(jqb .chargePermissionId)
KEY_ID=shop9-plain-key KEY_FILE=$T/shop9.key api POST charges "{\"chargePermissionId\":\"$P9\",\"chargeAmount\":{\"amount\":\"1.00\",\"currencyCode\":\"USD\"},\"captureNow\":true}" -H "x-amz-pay-idempotency-key: order-1_A"
check "keys are per merchant: another merchant's same key is new" is "$STATUS $(jqb .chargePermissionId)" "201 $P9"
finish_paysim
