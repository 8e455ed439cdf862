#!/usr/bin/env bash
# Orders through the merchant API: orders customers place by voice land in their shop's
# index (written after the order, idempotently) and are listed page by page and read with
# their ledger; another merchant sees none of them. VX_STORE=cluster runs it on a cluster,
# where the customers' orders and the merchant's index live in different slots.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/merchant.inc.sh"
TOKEN=$(tok --merchant demo --scope read)
OTHER=$(tok --merchant someone_else)

api() { # api TOKEN PATH: GET; sets STATUS and BODY
  BODY=$(curl -s --cacert "$CA/root.pem" -o - -w '\n%{http_code}' \
    -H "Authorization: Bearer $1" "$BASE$2")
  STATUS=${BODY##*$'\n'}
  BODY=${BODY%$'\n'*}
}
say() { # say FILE USER: one turn of the demo's conversation as customer USER
  sed -e "s/demo-000[0-9]/$RANDOM$RANDOM/" -e "s/DEMOUSER/$2/g" "$SRC/scripts/demo/$1" >"$T/turn.json"
  BODY=$("$VOXCART" sign --dir "$CA" --restamp --url "$BASE/alexa" "$T/turn.json" 2>"$T/sign.err")
}

placed=0
for user in ALICE BOB CAROL; do
  say order.json "$user"
  say yes.json "$user"
  contains "$BODY" 'Order o' && placed=$((placed + 1))
done
check "three customers placed an order each by voice" [ "$placed" = 3 ]
check "no order was left out of its shop's index" bash -c "! grep -q 'not in its shop' '$T/voxcartd.log'"

ids=""
cursor=""
pages=0
while :; do
  api "$TOKEN" "/v1/shops/corner_coffee/orders?limit=2${cursor:+&cursor=$cursor}"
  [ "$STATUS" = 200 ] || break
  pages=$((pages + 1))
  ids="$ids $(jq -r '.data[].id' <<<"$BODY" | tr '\n' ' ')"
  cursor=$(jq -r '.next_cursor // empty' <<<"$BODY")
  [ -n "$cursor" ] && [ "$pages" -lt 5 ] || break
done
set -- $ids
check "two pages of at most 2 list the three orders, each once" all_of [ "$#" = 3 ] -- [ "$pages" = 2 ] -- \
  [ "$(printf '%s\n' $ids | sort -u | wc -l)" = 3 ]
api "$TOKEN" /v1/shops/corner_coffee/orders
check "every order is the voice's: CONFIRMED, EUR, 9 euros for two large lattes" \
  [ "$(jq -c '[.data[] | [.state, .currency, .total, .merchant]] | unique' <<<"$BODY")" = '[["CONFIRMED","EUR",900,"corner_coffee"]]' ]
api "$TOKEN" "/v1/shops/corner_coffee/orders/$1"
check "an order is read with its ledger" all_of [ "$STATUS" = 200 ] -- \
  [ "$(jq -c '[.id, (.ledger | length), .ledger[0].to, .ledger[0].actor, .ledger[0].amount]' <<<"$BODY")" = "[\"$1\",1,\"CONFIRMED\",\"customer\",900]" ]
api "$OTHER" "/v1/shops/corner_coffee/orders/$1"
check "another merchant's token: 404 for the order" [ "$STATUS" = 404 ]
api "$OTHER" /v1/shops/corner_coffee/orders
check "... and an empty list" all_of [ "$STATUS" = 200 ] -- [ "$(jq -c .data <<<"$BODY")" = '[]' ]
api "$TOKEN" /v1/shops/corner_coffee/orders/o20260101-0000000000
check "an order that does not exist: 404" [ "$STATUS" = 404 ]
finish
