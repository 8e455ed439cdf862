# Shared by the merchant API tests (sourced after lib.sh): a store, the development CA, an
# HS256 secret for merchant tokens, voxcartd selling the demo skill, and tok to mint tokens.
start_store
make_devca
head -c 48 /dev/urandom | base64 >"$T/jwt.secret"
export VOXCART_JWT_KEY="$T/jwt.secret" VOXCART_SKILL_IDS=amzn1.ask.skill.voxcart-demo
start_voxcartd
tok() { "$VOXCART" token --key "$T/jwt.secret" "$@"; }

# voice_order USER: two large lattes ordered by voice as customer USER; ORDER is its ID
voice_order() {
  local f
  for f in order.json yes.json; do
    sed -e "s/demo-000[0-9]/$RANDOM$RANDOM/g" -e "s/DEMOUSER/$1/g" "$SRC/scripts/demo/$f" >"$T/turn.json"
    "$VOXCART" sign --dir "$CA" --restamp --url "$BASE/alexa" "$T/turn.json" >/dev/null 2>&1
  done
  ORDER=$(rcli hget "vx:{amzn1.ask.skill.voxcart-demo:amzn1.ask.account.$1}:profile" last_order |
    jq -r .)
}

# pay_order USER: ORDER (placed by voice, the customer had no agreement yet: a pay link) paid as
# a customer pays it: the checkout session approved at the sandbox, then completed by voxcartd's
# payment janitor; CHARGE is the charge's ID
pay_order() {
  local key="vx:{amzn1.ask.skill.voxcart-demo:amzn1.ask.account.$1}:order:$ORDER" session
  session=$(rcli hget "$key" checkout_session_id | jq -r .)
  sim POST "checkoutSessions/$session/approve" '{"buyerId":"buyer-alice","instrument":"card-ok"}'
  order_paid() { [ "$(rcli hget "$key" state)" = '"PAID"' ]; }
  wait_for 20 order_paid || return 1
  CHARGE=$(rcli hget "$key" charge_id | jq -r .)
}
