#!/usr/bin/env bash
# The voice code (certification rules): a customer who set one is asked for it before an order
# from the shop's voice_code_threshold is charged in the turn; a wrong code is one try fewer,
# the right one charges (one charge at the sandbox) and starts the count again; three wrong
# codes in a row lock voice purchases, so the next yes is a pay link and nothing is charged by
# voice; cancel leaves nothing charged; orders under the threshold are charged without it. The
# digits are never in the store, only their salted hash.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"
# the sample shop, asking for the code from 4.00 EUR (two espressos are 5.00, one is 2.50)
mkdir -p "$T/intents"
jq '.merchant.voice_code_threshold = 400' "$SRC/intents/catalog.json" >"$T/catalog.json"
export VOXCART_CATALOG="$T/catalog.json"
start_pay_servers 300
yes_req=$(make_request yes AMAZON.YesIntent)

# vcode USER DIGITS: USER's voice code, stored as voxcartd stores it (PBKDF2-HMAC-SHA256)
vcode() {
  local stored
  stored=$(python3 -c '
import hashlib, json, os, sys
salt = os.urandom(16)
h = hashlib.pbkdf2_hmac("sha256", sys.argv[1].encode(), salt, 20000)
print(json.dumps({"alg": "pbkdf2-sha256", "iter": 20000, "salt": salt.hex(), "hash": h.hex()}, separators=(",", ":")))' "$2")
  rcli HSET "$(profile_key "$1")" voice_code "$stored" >/dev/null
}
say_code() { # say_code USER DIGITS: VoiceCodeIntent with the slot code
  sed "s/\"name\":\"VoiceCodeIntent\",\"confirmationStatus\":\"NONE\"}/\"name\":\"VoiceCodeIntent\",\"confirmationStatus\":\"NONE\",\"slots\":{\"code\":{\"name\":\"code\",\"value\":\"$2\"}}}/" \
    "$(make_request vcode-req VoiceCodeIntent)" >"$T/code.json"
  signed "$(as_user "$1" "$T/code.json")" --restamp
}
prof() { rcli HGET "$(profile_key "$1")" "$2"; }
state_of() { rcli HGET "vx:{$SKILL:amzn1.ask.account.$1}:conv" s | jq -r .state; }

permission ann card-ok
vcode ann 4821
order_and_yes ann
check "an order from the threshold asks for the voice code, naming the total" all_of \
  contains "$BODY" "This order comes to 5 euros, so I need your voice code" -- [ "$(state_of ann)" = VOICE_CODE ]
check "... and nothing is charged yet" [ "$(charges "$PERM")" = 0 ]
say_code ann 1111
check "a wrong code: two tries left, still nothing charged" all_of \
  contains "$BODY" "You have 2 more tries" -- [ "$(prof ann voice_code_failures)" = 1 ] -- [ "$(charges "$PERM")" = 0 ]
say_code ann 12
check "not four digits: asked again, no try used" all_of \
  contains "$BODY" "Please say the four digits" -- [ "$(prof ann voice_code_failures)" = 1 ]
say_code ann 4821
check "the right code: charged in the turn, the order PAID, one charge at the sandbox" all_of \
  contains "$BODY" "charged 5 euros" -- paid ann -- [ "$(charges "$PERM")" = 1 ]
check "... and the count of wrong codes starts again" [ "$(prof ann voice_code_failures)" = 0 ]

# three wrong codes lock voice purchases
order_and_yes ann
say_code ann 0000
say_code ann 1234
say_code ann 9999
check "the third wrong code locks voice purchases" all_of contains "$BODY" "locked voice purchases" -- \
  [ "$(prof ann voice_code_locked)" = true ] -- [ "$(state_of ann)" = CONFIRMING ]
signed "$(as_user ann "$yes_req")" --restamp
check "locked: yes makes a pay link, nothing is charged by voice" all_of \
  contains "$BODY" "/checkout/" -- [ "$(order_field ann state)" = '"CHARGE_PENDING"' ] -- [ "$(charges "$PERM")" = 1 ]
order_and_yes ann
check "... and stays locked for the next order too" all_of contains "$BODY" "/checkout/" -- [ "$(charges "$PERM")" = 1 ]

# cancel while the code is asked for
permission bea card-ok
vcode bea 2468
order_and_yes bea
signed "$(as_user bea "$(make_request cancel AMAZON.CancelIntent)")" --restamp
check "cancel while the code is asked for: no order, nothing charged" all_of \
  contains "$BODY" "cancel" -- [ -z "$(last_order bea)" ] -- [ "$(charges "$PERM")" = 0 ]

# under the threshold, and without a code set
permission cid card-ok
vcode cid 1357
sed 's/"name":"OrderIntent","confirmationStatus":"NONE"}/"name":"OrderIntent","confirmationStatus":"NONE","slots":{"product":{"name":"product","value":"espresso"},"quantity":{"name":"quantity","value":"1"}}}/' \
  "$(make_request order1 OrderIntent)" >"$T/one.json"
signed "$(as_user cid "$(make_request launch LaunchRequest)")" --restamp
signed "$(as_user cid "$T/one.json")" --restamp
signed "$(as_user cid "$yes_req")" --restamp
check "an order under the threshold is charged without the code" all_of contains "$BODY" "charged" -- paid cid
permission dot card-ok
order_and_yes dot
check "a customer without a code is charged at once" all_of contains "$BODY" "charged 5 euros" -- paid dot

everything_of() { # every value stored for customers ann, bea and cid
  local k
  for k in $(rcli --scan --pattern '*amzn1.ask.account.[abc][eni][ned]*'); do
    case $(rcli TYPE "$k") in
      hash) rcli HGETALL "$k" ;; list) rcli LRANGE "$k" 0 -1 ;; zset) rcli ZRANGE "$k" 0 -1 ;;
      string) rcli GET "$k" ;;
    esac
  done
}
everything_of >"$T/stored.txt"
check "the digits are nowhere in the store, only their salted hash" all_of \
  [ -s "$T/stored.txt" ] -- ! grep -q -w -e 4821 -e 2468 -e 1357 "$T/stored.txt" -- \
  [ "$(prof ann voice_code | jq -r '[.alg, .iter, (.salt | length), (.hash | length)] | @tsv')" = "$(printf 'pbkdf2-sha256\t20000\t32\t64')" ]
finish
