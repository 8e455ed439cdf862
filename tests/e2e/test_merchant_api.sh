#!/usr/bin/env bash
# The merchant API (/v1) against a real voxcartd and Redis: every way a token is refused,
# scopes, another merchant seeing nothing, shops and products with validation naming the
# field, cursor pagination and idempotent POSTs. VX_STORE=cluster runs it on Redis Cluster.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/merchant.inc.sh"
FULL=$(tok --merchant m1 --scope full)
READ=$(tok --merchant m1 --scope read)
OTHER=$(tok --merchant m2 --scope full)

# api METHOD PATH [curl args...]: sets STATUS and BODY
api() {
  local m=$1 p=$2; shift 2
  BODY=$(curl -s --cacert "$CA/root.pem" -o - -w '\n%{http_code}' -X "$m" "$@" "$BASE$p")
  STATUS=${BODY##*$'\n'}
  BODY=${BODY%$'\n'*}
}
call() { local t=$1 m=$2 p=$3; shift 3; api "$m" "$p" -H "Authorization: Bearer $t" "$@"; }
json() { call "$1" "$2" "$3" -H 'Content-Type: application/json' --data-binary "$4" "${@:5}"; }
code_is() { [ "$STATUS" = "$1" ] && contains "$BODY" "\"code\":\"$2\""; }
field_is() { [ "$STATUS" = 422 ] && contains "$BODY" "\"field\":\"$1\""; }

# --- authentication ---
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
claims=$(printf '{"iss":"voxcart","aud":"voxcart-merchant-api","merchant":"m1","scope":"full","exp":%d}' $(( $(date +%s) + 600 )) | b64url)
hs() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$(tr -d '\n' <"$T/jwt.secret")" -binary | b64url; }

api GET /v1/shops
check "no token: 401 token_missing with WWW-Authenticate" code_is 401 token_missing
call "not-a-jwt" GET /v1/shops
check "garbage: 401 token_malformed" code_is 401 token_malformed
none_tok="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$claims."
call "$none_tok" GET /v1/shops
check "alg none: 401 token_algorithm" code_is 401 token_algorithm
h512=$(printf '{"alg":"HS512","typ":"JWT"}' | b64url)
call "$h512.$claims.$(printf '%s' "$h512.$claims" | openssl dgst -sha512 -hmac "$(tr -d '\n' <"$T/jwt.secret")" -binary | b64url)" GET /v1/shops
check "another algorithm (HS512 with the right secret): 401 token_algorithm" code_is 401 token_algorithm
h256=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
call "$h256.$claims.$(hs "$h256.$claims")" GET /v1/shops
check "a token made by hand with the secret is accepted" [ "$STATUS" = 200 ]
call "$h256.$claims.$(hs "$h256.${claims}x")" GET /v1/shops
check "bad signature: 401 token_signature" code_is 401 token_signature
head -c 48 /dev/urandom | base64 >"$T/other.secret"
call "$("$VOXCART" token --key "$T/other.secret" --merchant m1)" GET /v1/shops
check "signed with another secret: 401 token_signature" code_is 401 token_signature
call "$(tok --merchant m1 --ttl 1 --not-before -3600)" GET /v1/shops
check "a token that lasts one second is fine within it" [ "$STATUS" = 200 ]
exp_claims=$(printf '{"iss":"voxcart","aud":"voxcart-merchant-api","merchant":"m1","scope":"full","exp":%d}' $(( $(date +%s) - 120 )) | b64url)
call "$h256.$exp_claims.$(hs "$h256.$exp_claims")" GET /v1/shops
check "expired (beyond the leeway): 401 token_expired" code_is 401 token_expired
call "$(tok --merchant m1 --not-before 600)" GET /v1/shops
check "not yet valid: 401 token_not_yet_valid" code_is 401 token_not_yet_valid
call "$(tok --merchant m1 --audience somebody-else)" GET /v1/shops
check "wrong audience: 401 token_audience" code_is 401 token_audience
call "$(tok --merchant m1 --issuer somebody-else)" GET /v1/shops
check "wrong issuer: 401 token_issuer" code_is 401 token_issuer

bad() { # bad PATH FIELD BODY: a POST that must be refused naming FIELD
  json "$FULL" POST "$1" "$3"
  check "validation of $1 names '$2'" field_is "$2"
}

# --- shops ---
SHOP='{"id":"corner","name":{"en":"Corner Coffee","de":"Corner Coffee"},"currency":"EUR","locales":["en-GB","de-DE"],"sizes":[{"id":"small","names":{"en":{"one":"small"},"de":{"one":"klein"}}},{"id":"large","names":{"en":{"one":"large"},"de":{"one":"groß"}}}]}'
json "$READ" POST /v1/shops "$SHOP"
check "scope read cannot create: 403 insufficient_scope" code_is 403 insufficient_scope
json "$FULL" POST /v1/shops "$SHOP" -H 'Idempotency-Key: shop-1'
check "a shop is created: 201" [ "$STATUS" = 201 ]
check "with its defaults (a voice code from 100 EUR)" contains "$BODY" '"rail":"provider","environment":"sandbox","voice_code_threshold":10000'
first=$BODY
json "$FULL" POST /v1/shops "$SHOP" -H 'Idempotency-Key: shop-1'
check "the same POST with the same key: the stored answer again" all_of [ "$STATUS" = 201 ] -- [ "$BODY" = "$first" ]
json "$FULL" POST /v1/shops "${SHOP/Corner Coffee/Other}" -H 'Idempotency-Key: shop-1'
check "the same key with another body: 422 idempotency_key_reused" code_is 422 idempotency_key_reused
json "$FULL" POST /v1/shops "$SHOP"
check "the same id again without a key: 409 already_exists" code_is 409 already_exists
call "$READ" GET /v1/shops/corner
check "scope read reads the shop" all_of [ "$STATUS" = 200 ] -- contains "$BODY" '"id":"corner"'
call "$OTHER" GET /v1/shops/corner
check "another merchant's shop: 404" code_is 404 not_found
call "$OTHER" GET /v1/shops
check "another merchant lists nothing" all_of [ "$STATUS" = 200 ] -- contains "$BODY" '"data":[]'
call "$FULL" GET /v1/shops/nope
check "no such shop: 404" code_is 404 not_found
call "$FULL" GET '/v1/shops/NOT%20AN%20ID'
check "a path parameter that is no ID: 404" code_is 404 not_found

bad /v1/shops currency '{"name":{"en":"X"},"currency":"EURO","locales":["en-US"]}'
bad /v1/shops currency '{"name":{"en":"X"},"currency":"XYZ","locales":["en-US"]}'
bad /v1/shops name '{"currency":"EUR","locales":["en-US"]}'
bad /v1/shops locales '{"name":{"en":"X"},"currency":"EUR"}'
bad /v1/shops 'locales[1]' '{"name":{"en":"X"},"currency":"EUR","locales":["en-US","english"]}'
bad /v1/shops rail '{"name":{"en":"X"},"currency":"EUR","locales":["en-US"],"rail":"cash"}'
bad /v1/shops environment '{"name":{"en":"X"},"currency":"EUR","locales":["en-US"],"environment":"live"}'
bad /v1/shops voice_code_threshold '{"name":{"en":"X"},"currency":"EUR","locales":["en-US"],"voice_code_threshold":-5}'
bad /v1/shops id '{"id":"Has Space","name":{"en":"X"},"currency":"EUR","locales":["en-US"]}'
bad /v1/shops colour '{"name":{"en":"X"},"currency":"EUR","locales":["en-US"],"colour":"red"}'
bad /v1/shops 'sizes[0].names.de' '{"name":{"en":"X","de":"X"},"currency":"EUR","locales":["en-US"],"sizes":[{"id":"s","names":{"en":{"one":"s"}}}]}'
json "$FULL" POST /v1/shops '{"name":'
check "a body that is not JSON: 400 malformed_json" code_is 400 malformed_json

# --- products ---
LATTE='{"id":"latte","names":{"en":{"one":"latte","other":"lattes"},"de":{"one":"Latte","other":"Latte","gender":"m"}},"sizes":[{"size":"small","prices":[{"currency":"EUR","amount":350}]},{"size":"large","prices":[{"currency":"EUR","amount":450},{"currency":"USD","amount":500}]}]}'
json "$FULL" POST /v1/shops/corner/products "$LATTE" -H 'Idempotency-Key: p-latte'
check "a product with sizes and prices per currency: 201" all_of [ "$STATUS" = 201 ] -- contains "$BODY" '"amount":450'
json "$OTHER" POST /v1/shops/corner/products "$LATTE"
check "another merchant cannot add to the shop: 404" code_is 404 not_found
bad /v1/shops/corner/products names '{"prices":[{"currency":"EUR","amount":1}]}'
bad /v1/shops/corner/products prices '{"names":{"en":{"one":"tea"},"de":{"one":"Tee"}}}'
bad /v1/shops/corner/products prices '{"names":{"en":{"one":"tea"},"de":{"one":"Tee"}},"prices":[{"currency":"USD","amount":300}]}'
bad /v1/shops/corner/products 'prices[0].amount' '{"names":{"en":{"one":"tea"},"de":{"one":"Tee"}},"prices":[{"currency":"EUR","amount":2.5}]}'
bad /v1/shops/corner/products 'prices[0].amount' '{"names":{"en":{"one":"tea"},"de":{"one":"Tee"}},"prices":[{"currency":"EUR","amount":-1}]}'
bad /v1/shops/corner/products 'prices[1].currency' '{"names":{"en":{"one":"tea"},"de":{"one":"Tee"}},"prices":[{"currency":"EUR","amount":1},{"currency":"EUR","amount":2}]}'
bad /v1/shops/corner/products 'names.de' '{"names":{"en":{"one":"tea"}},"prices":[{"currency":"EUR","amount":300}]}'
bad /v1/shops/corner/products 'sizes.medium' '{"names":{"en":{"one":"tea"},"de":{"one":"Tee"}},"sizes":[{"size":"medium","prices":[{"currency":"EUR","amount":1}]}]}'
bad /v1/shops/corner/products active '{"names":{"en":{"one":"tea"},"de":{"one":"Tee"}},"prices":[{"currency":"EUR","amount":1}],"active":"yes"}'

# --- pagination: 7 products, pages of 3 ---
for i in 1 2 3 4 5 6; do
  json "$FULL" POST /v1/shops/corner/products "{\"id\":\"tea_$i\",\"names\":{\"en\":{\"one\":\"tea $i\"},\"de\":{\"one\":\"Tee $i\"}},\"prices\":[{\"currency\":\"EUR\",\"amount\":${i}00}]}"
done
seen=""
cursor=""
pages=0
while :; do
  call "$READ" GET "/v1/shops/corner/products?limit=3${cursor:+&cursor=$cursor}"
  [ "$STATUS" = 200 ] || break
  pages=$((pages + 1))
  seen="$seen $(printf '%s' "$BODY" | jq -r '.data[].id' | tr '\n' ' ')"
  cursor=$(printf '%s' "$BODY" | jq -r '.next_cursor // empty')
  [ -n "$cursor" ] || break
  [ "$pages" -lt 10 ] || break
done
check "three pages of at most 3 hold all 7 products once, in id order" all_of \
  [ "$(echo $seen)" = "latte tea_1 tea_2 tea_3 tea_4 tea_5 tea_6" ] -- [ "$pages" = 3 ]
call "$READ" GET "/v1/shops/corner/products?limit=0"
check "limit 0: 422 naming limit" field_is limit
call "$READ" GET "/v1/shops/corner/products?cursor=%7Bx"
check "a cursor that is no ID: 422 naming cursor" field_is cursor

# --- replace a product ---
json "$FULL" PUT /v1/shops/corner/products/tea_1 '{"names":{"en":{"one":"green tea"},"de":{"one":"grüner Tee"}},"prices":[{"currency":"EUR","amount":320}],"active":false}'
check "PUT replaces a product" all_of [ "$STATUS" = 200 ] -- contains "$BODY" '"amount":320' -- contains "$BODY" '"active":false'
call "$READ" GET /v1/shops/corner/products/tea_1
check "and GET sees the change" contains "$BODY" 'green tea'
json "$FULL" PUT /v1/shops/corner/products/nope '{"names":{"en":{"one":"x"},"de":{"one":"x"}},"prices":[{"currency":"EUR","amount":1}]}'
check "PUT of a product that does not exist: 404" code_is 404 not_found
json "$FULL" PUT /v1/shops/corner/products/tea_2 '{"id":"tea_3","names":{"en":{"one":"x"},"de":{"one":"x"}},"prices":[{"currency":"EUR","amount":1}]}'
check "PUT with another id in the body: 422 naming id" field_is id
# --- plans ---
PLAN='{"id":"beans_biweekly","name":{"en":"Beans every two weeks","de":"Bohnen alle zwei Wochen"},"interval":{"unit":"week","count":2},"amount":1299,"currency":"EUR","trial_days":14}'
json "$FULL" POST /v1/shops/corner/plans "$PLAN" -H 'Idempotency-Key: plan-1'
check "a plan: 201 with its interval, amount and trial" all_of [ "$STATUS" = 201 ] -- \
  contains "$BODY" '"interval":{"unit":"week","count":2},"amount":1299,"currency":"EUR","trial_days":14'
first=$BODY
json "$FULL" POST /v1/shops/corner/plans "$PLAN" -H 'Idempotency-Key: plan-1'
check "the same plan POST again: the stored answer" all_of [ "$STATUS" = 201 ] -- [ "$BODY" = "$first" ]
json "$FULL" POST /v1/shops/corner/plans '{"name":{"en":"Monthly"},"interval":{"unit":"month","count":1},"amount":900,"currency":"EUR"}'
check "a plan without a trial: trial_days null" all_of [ "$STATUS" = 201 ] -- contains "$BODY" '"trial_days":null'
call "$READ" GET /v1/shops/corner/plans/beans_biweekly
check "a plan is read back" all_of [ "$STATUS" = 200 ] -- [ "$BODY" = "$first" ]
call "$READ" GET "/v1/shops/corner/plans?limit=1"
check "plans are paged" all_of [ "$(jq '.data | length' <<<"$BODY")" = 1 ] -- [ "$(jq -r .next_cursor <<<"$BODY")" != null ]
call "$OTHER" GET /v1/shops/corner/plans/beans_biweekly
check "another merchant's plan: 404" code_is 404 not_found
json "$FULL" POST /v1/shops/nope/plans "$PLAN"
check "a plan of a shop that does not exist: 404" code_is 404 not_found
bad /v1/shops/corner/plans name '{"interval":{"unit":"day","count":1},"amount":1,"currency":"EUR"}'
bad /v1/shops/corner/plans interval '{"name":{"en":"x"},"amount":1,"currency":"EUR"}'
bad /v1/shops/corner/plans interval.unit '{"name":{"en":"x"},"interval":{"unit":"fortnight","count":1},"amount":1,"currency":"EUR"}'
bad /v1/shops/corner/plans interval.count '{"name":{"en":"x"},"interval":{"unit":"year","count":6},"amount":1,"currency":"EUR"}'
bad /v1/shops/corner/plans interval.count '{"name":{"en":"x"},"interval":{"unit":"month","count":0},"amount":1,"currency":"EUR"}'
bad /v1/shops/corner/plans amount '{"name":{"en":"x"},"interval":{"unit":"day","count":1},"amount":0,"currency":"EUR"}'
bad /v1/shops/corner/plans currency '{"name":{"en":"x"},"interval":{"unit":"day","count":1},"amount":1,"currency":"eur"}'
bad /v1/shops/corner/plans trial_days '{"name":{"en":"x"},"interval":{"unit":"day","count":1},"amount":1,"currency":"EUR","trial_days":0}'
bad /v1/shops/corner/plans active '{"name":{"en":"x"},"interval":{"unit":"day","count":1},"amount":1,"currency":"EUR","active":1}'

check "the catalog version counts the shop's product and plan writes (the voice catalog offers the plans)" [ "$(rcli hget 'vx:{m:m1}:versions' corner)" = 10 ]
finish
