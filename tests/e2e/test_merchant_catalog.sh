#!/usr/bin/env bash
# The demo merchant's first shop is the sample coffee shop, imported from the catalog file
# when voxcartd starts and finds none; a price changed through the merchant API is what the
# next voice turn of the running voxcartd says, without a restart; a second voxcartd on the
# same Redis sees it within a second.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/merchant.inc.sh"
TOKEN=$(tok --merchant demo)

api() {
  local m=$1 p=$2; shift 2
  BODY=$(curl -s --cacert "$CA/root.pem" -o - -w '\n%{http_code}' -X "$m" \
    -H "Authorization: Bearer $TOKEN" "$@" "$BASE$p")
  STATUS=${BODY##*$'\n'}
  BODY=${BODY%$'\n'*}
}
order() { # order BASE: two large lattes, as the demo says it; sets BODY
  sed "s/demo-0002/$RANDOM$RANDOM/" "$SRC/scripts/demo/order.json" >"$T/order.json"
  BODY=$("$VOXCART" sign --dir "$CA" --restamp --url "$1/alexa" "$T/order.json" 2>"$T/sign.err")
  STATUS=$(sed -n 's/^HTTP \([0-9]*\).*/\1/p' "$T/sign.err" | tail -n 1)
}

check "the catalog was imported as the demo merchant's shop" grep -q 'imported .* as shop corner_coffee of merchant demo' "$T/voxcartd.log"
api GET /v1/shops/corner_coffee
check "the shop is there, in EUR with the catalog's languages" \
  contains "$BODY" '"currency":"EUR","locales":["en-US","en-GB","de-DE"]'
api GET /v1/shops/corner_coffee/products/latte
check "the latte costs what the file says (large: 450)" \
  [ "$(jq -c '[.sizes[] | select(.size=="large") | .prices[0].amount]' <<<"$BODY")" = '[450]' ]
latte=$BODY
order "$BASE"
check "before the change: two large lattes are 9 euros" contains "$BODY" "that&apos;s 9 euros"

new=$(jq -c 'del(.id,.shop_id,.updated_at) | (.sizes[] | select(.size=="large") | .prices[0].amount) = 500' <<<"$latte")
api PUT /v1/shops/corner_coffee/products/latte -H 'Content-Type: application/json' --data-binary "$new"
check "the large latte now costs 500" all_of [ "$STATUS" = 200 ] -- contains "$BODY" '"amount":500'
order "$BASE"
check "the next voice turn says the new price: 10 euros" contains "$BODY" "that&apos;s 10 euros"
check "voxcartd installed the new catalog version" grep -q 'shop corner_coffee: catalog version [0-9]* in use' "$T/voxcartd.log"

# a second voxcartd on the same store: it imports nothing and sells the new price too
FIRST_BASE=$BASE FIRST_PID=$VX_PID
start_voxcartd
check "the second voxcartd found the shop and imported nothing" \
  [ "$(grep -c 'imported .* as shop corner_coffee' "$T/voxcartd.log")" = 1 ]
order "$BASE"
check "the second voxcartd says 10 euros as well" contains "$BODY" "that&apos;s 10 euros"
new=$(jq -c '(.sizes[] | select(.size=="large") | .prices[0].amount) = 550' <<<"$new")
api PUT /v1/shops/corner_coffee/products/latte -H 'Content-Type: application/json' --data-binary "$new"
sleep 1.2
order "$FIRST_BASE"
check "a change made through the second instance is sold by the first within a second: 11 euros" \
  contains "$BODY" "that&apos;s 11 euros"
new=$(jq -c '.active = false' <<<"$new")
api PUT /v1/shops/corner_coffee/products/latte -H 'Content-Type: application/json' --data-binary "$new"
order "$BASE"
check "a product switched off is not sold any more" contains "$BODY" "we don&apos;t have lattes"
check "... and the others still are, in the catalog's order" contains "$BODY" "We have espressos, cappuccinos, flat whites"
kill -TERM "$FIRST_PID"; wait "$FIRST_PID" 2>/dev/null
finish
