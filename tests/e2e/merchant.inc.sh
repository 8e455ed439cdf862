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
    sed -e "s/demo-000[0-9]/$RANDOM$RANDOM/" -e "s/DEMOUSER/$1/g" "$SRC/scripts/demo/$f" >"$T/turn.json"
    "$VOXCART" sign --dir "$CA" --restamp --url "$BASE/alexa" "$T/turn.json" >/dev/null 2>&1
  done
  ORDER=$(rcli hget "vx:{amzn1.ask.skill.voxcart-demo:amzn1.ask.account.$1}:profile" last_order |
    jq -r .)
}

# pay_order USER: ORDER charged in the sandbox (paysim's lib.sh, make_merchant shop1) and
# recorded as paid, as the payment path records a capture; CHARGE is the charge's ID
pay_order() {
  sim POST chargePermissions '{"merchantId":"shop1","chargePermissionType":"Recurring","instrument":"card-ok"}'
  CHARGE=$("$BUILD/it_provider_client" --url "$PS_URL/sandbox/v2" --key-id "$KEY_ID" --key "$KEY_FILE" \
    charge-create "pay-$ORDER" "$(jqb .chargePermissionId)" 900 EUR capture | sed -n 's/^id=//p')
  [ -n "$CHARGE" ] &&
    "$BUILD/it_order_paid" amzn1.ask.skill.voxcart-demo "amzn1.ask.account.$1" "$ORDER" "$CHARGE" 900 EUR
}
