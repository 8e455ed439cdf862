#!/usr/bin/env bash
# The pay-link page where a customer sets the voice code, end to end in headless Chromium:
# with public_url configured, a first-time customer's yes is a card whose link is voxcartd's
# page; the page shows the order, refuses "12a4", takes 4821 and sends the buyer on to the
# sandbox's approval page; the customer approves, the janitor charges: PAID. The profile then
# holds a voice code that PBKDF2 (computed here, apart from voxcart) accepts for 4821, the digits
# appear nowhere in Redis, failures are 0 and the lock is off. Also: a forged token is a 404
# page; "12a4" stores nothing; continuing without a code stores nothing and still redirects; a
# paid order's page says so.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"

start_page_sandbox
head -c 48 /dev/urandom | base64 >"$T/paypage.key"
export VOXCART_JANITOR_INTERVAL_MS=1000 VOXCART_PAYPAGE_SECRET="$T/paypage.key"
VX_PUBLIC=1 start_voxcartd
notify_voxcartd

# page METHOD URL [curl args...]: sets STATUS, BODY and HEADERS
page() {
  local m=$1 u=$2; shift 2
  BODY=$(curl -s --cacert "$CA/root.pem" -D "$T/headers" -o - -w '\n%{http_code}' -X "$m" "$@" "$u")
  STATUS=${BODY##*$'\n'}
  BODY=${BODY%$'\n'*}
  HEADERS=$(tr -d '\r' <"$T/headers")
}
card_link() { jq -r '.response.card.content' <<<"$BODY" | grep -o 'https://[^ ]*/pay/[A-Za-z0-9._-]*'; }
profile() { rcli HGET "$(profile_key "$1")" "$2"; }
# pbkdf2_ok STORED CODE: the stored form accepts CODE, computed with Node's crypto, not voxcart
pbkdf2_ok() {
  node -e 'const c = require("crypto"); const d = JSON.parse(process.argv[1]);
    const h = c.pbkdf2Sync(process.argv[2], Buffer.from(d.salt, "hex"), d.iter, 32, "sha256");
    process.exit(d.alg === "pbkdf2-sha256" && c.timingSafeEqual(h, Buffer.from(d.hash, "hex")) ? 0 : 1);' \
    "$1" "$2"
}
# what a page answer must be
not_found_page() { [ "$STATUS" = 404 ] && contains "$HEADERS" "Content-Type: text/html" && contains "$BODY" "Page not found"; }
refused_page() { [ "$STATUS" = 400 ] && contains "$BODY" "The voice code is four digits"; }
no_code() { [ -z "$(profile "$1" voice_code)" ] && [ -z "$(profile "$1" voice_code_failures)" ]; }
# redis_values: every key of the store and every value in it, one a line
redis_values() {
  rcli --scan | while read -r k; do
    echo "$k"
    case $(rcli TYPE "$k") in
      string) rcli GET "$k" ;;
      hash) rcli HGETALL "$k" ;;
      list) rcli LRANGE "$k" 0 -1 ;;
      set) rcli SMEMBERS "$k" ;;
      zset) rcli ZRANGE "$k" 0 -1 WITHSCORES ;;
      stream) rcli XRANGE "$k" - + ;;
    esac
  done
}

order_and_yes hana
link=$(card_link)
check "the yes of a first-time customer is a card with voxcartd's page" \
  [ "${link%%/pay/*}" = "$BASE" ]
pay_url=$(order_field hana pay_url | jq -r .)
check "the order keeps the provider's approval page as pay_url" contains "$pay_url" "/checkout/"

page GET "$link"
check "the page answers 200" [ "$STATUS" = 200 ]
check "as a page that is not cached" contains "$HEADERS" "Cache-Control: no-store"
check "and gives no referrer away" contains "$HEADERS" "Referrer-Policy: no-referrer"
check "with the field" contains "$BODY" 'name="voice_code"'

# one byte of the token changed, in the text and in the MAC; a token of another secret
tok=${link##*/pay/}
for at in 3 $((${#tok} - 5)) $((${#tok} - 1)); do
  c=${tok:$at:1}
  [ "$c" = A ] && r=B || r=A
  page GET "$BASE/pay/${tok:0:$at}$r${tok:$((at + 1))}"
  check "a token with byte $at changed is a 404 page" not_found_page
  page POST "$BASE/pay/${tok:0:$at}$r${tok:$((at + 1))}" --data 'voice_code=4821'
  check "and so is a POST to it" [ "$STATUS" = 404 ]
done
page GET "$BASE/pay/not-a-token"
check "a token of no shape is the same 404 page" not_found_page
check "voxcartd still serves" curl -sf --cacert "$CA/root.pem" "$BASE/healthz" -o /dev/null

page POST "$link" --data 'voice_code=12a4'
check "a code \"12a4\" is refused: 400 with the message, on the page again" refused_page
check "and nothing is stored" no_code hana
page POST "$link" --data 'voice_code=48210'
check "five digits are refused too" refused_page
page POST "$link" --data 'voice_code=%34821'
check "and so are digits written with an escape" refused_page
check "still nothing stored" no_code hana

# a customer whose code was locked: setting one on the page is the reset
rcli HSET "$(profile_key hana)" voice_code_failures 3 voice_code_locked true >/dev/null
out=$(cd "$PS_NODE" && timeout 120 node paycode.js "$link" "Corner Coffee" \
  "2 espressos €5.00" "€5.00" "EUR 5.00" 2>&1)
rc=$?
echo "$out"
check "every page check passed in headless Chromium" [ "$rc" = 0 ]
check "all 15 of them ran" [ "$(grep -c '^ok' <<<"$out")" -ge 15 ]
check "the janitor charges the approved order: PAID" wait_for 20 paid hana
perm=$(profile hana billing_agreement | jq -r .id)
check "one captured charge for it at the sandbox" [ "$(charges "$perm" Captured)" = 1 ]

vc=$(profile hana voice_code)
echo "stored: $vc"
check "the profile holds the code's stored form" [ "$(jq -r .alg <<<"$vc")" = pbkdf2-sha256 ]
check "which PBKDF2 computed apart from voxcart accepts for 4821" pbkdf2_ok "$vc" 4821
check "and not for 4822" eval '! pbkdf2_ok "$vc" 4822'
check "failures reset to 0" [ "$(profile hana voice_code_failures)" = 0 ]
check "the lock is off" [ "$(profile hana voice_code_locked)" = false ]
redis_values >"$T/redis.txt"
check "the store was read whole ($(wc -l <"$T/redis.txt") lines)" grep -q "voice_code" "$T/redis.txt"
check "the digits 4821 are nowhere in Redis" \
  bash -c "! grep -Eq '(^|[^0-9A-Za-z])4821([^0-9A-Za-z]|\$)' '$T/redis.txt'"
check "nor in voxcartd's log" bash -c "! grep -q 4821 '$T/voxcartd.log'"

page GET "$link"
check "the page of the paid order answers 200" [ "$STATUS" = 200 ]
check "and says it is paid" contains "$BODY" "Already paid"
page POST "$link" --data 'voice_code=1111'
check "a code for it is refused: 409" [ "$STATUS" = 409 ]
check "and changes nothing" [ "$(profile hana voice_code)" = "$vc" ]

# continuing without a code
order_and_yes ida
link=$(card_link)
page POST "$link" --data 'voice_code='
check "without a code: 303" [ "$STATUS" = 303 ]
check "straight on to the provider's page" \
  [ "$(sed -n 's/^Location: //p' <<<"$HEADERS")" = "$(order_field ida pay_url | jq -r .)" ]
check "and nothing is stored" no_code ida
finish_paysim
