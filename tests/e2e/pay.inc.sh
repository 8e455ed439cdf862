# Helpers of the paying tests (test_pay.sh, test_pay_page.sh, test_pay_screen.sh, test_pay_voice_code_page.sh): customers of the test skill,
# their orders and the sandbox's ledger. Needs lib.sh, tests/paysim/lib.sh and a running voxcartd
# (start_pay_servers starts one).
SKILL=amzn1.ask.skill.test

# start_pay_servers JANITOR_MS: redis, the sandbox with merchant shop1, and voxcartd paying
# through it (the janitor every JANITOR_MS, 0 = off)
start_pay_servers() {
  make_devca
  start_redis
  start_pay_sandbox
  export VOXCART_JANITOR_INTERVAL_MS=$1
  start_voxcartd
}

# as_user USER FILE: the request of FILE from another customer, in that customer's one session;
# with INTERFACES set (a JSON object), from a device with those supportedInterfaces
as_user() {
  local out="$T/as-$1-$(basename "$2")" new=false device=()
  case "$2" in *launch*) new=true ;; esac
  [ -n "${INTERFACES:-}" ] &&
    device=(-e "s/\"deviceId\":\"amzn1.ask.device.TEST\"/&,\"supportedInterfaces\":$INTERFACES/")
  sed -e "s/amzn1.ask.account.TESTUSER/amzn1.ask.account.$1/g" \
    -e "s/\"sessionId\":\"[^\"]*\"/\"sessionId\":\"amzn1.echo-api.session.$1\"/" \
    -e "s/\"new\":true/\"new\":$new/" "${device[@]}" "$2" >"$out"
  echo "$out"
}
profile_key() { echo "vx:{$SKILL:amzn1.ask.account.$1}:profile"; }
# permission USER INSTRUMENT: a chargeable permission at the sandbox, saved in USER's profile
permission() {
  sim POST chargePermissions "$(jq -n --arg m "$MERCHANT" --arg i "$2" \
    '{merchantId:$m, chargePermissionType:"Recurring", buyerId:"buyer-alice", instrument:$i}')"
  PERM=$(jq -r .chargePermissionId <<<"$BODY")
  rcli HSET "$(profile_key "$1")" billing_agreement "{\"id\":\"$PERM\",\"status\":\"Chargeable\"}" >/dev/null
}
# order_and_yes USER: an order of two espressos and yes; BODY is the answer to yes
order_and_yes() { # every turn its own request ID, as the platform sends them
  signed "$(as_user "$1" "$(make_request launch LaunchRequest)")" --restamp
  sed 's/"name":"OrderIntent","confirmationStatus":"NONE"}/"name":"OrderIntent","confirmationStatus":"NONE","slots":{"product":{"name":"product","value":"espresso"},"quantity":{"name":"quantity","value":"2"}}}/' \
    "$(make_request order OrderIntent)" >"$T/espresso.json"
  signed "$(as_user "$1" "$T/espresso.json")" --restamp
  contains "$BODY" "Shall I place the order" || { echo "no summary for $1: $BODY"; cat "$T/sign.err"; }
  signed "$(as_user "$1" "$(make_request yes AMAZON.YesIntent)")" --restamp
}
last_order() { rcli LINDEX "vx:{$SKILL:amzn1.ask.account.$1}:orders" 0; }
order_field() { rcli HGET "vx:{$SKILL:amzn1.ask.account.$1}:order:$(last_order "$1")" "$2"; }
ledger_states() { rcli LRANGE "vx:{$SKILL:amzn1.ask.account.$1}:ledger:$(last_order "$1")" 0 -1 | jq -r .to | paste -sd, -; }
charges() { # charges PERMISSION [STATE]: how many charges the sandbox's ledger holds
  sim GET "charges?chargePermissionId=$1${2:+&state=$2}"
  jq 'if type == "array" then length else (.charges | length) end' <<<"$BODY"
}

paid() { [ "$(order_field "$1" state)" = '"PAID"' ]; }

# start_pay_sandbox (needs no voxcartd; test_replay_pay.sh uses it too): voxcart-paysim (its
# notifications trusting the development CA), the merchant shop1 registered with it, and
# voxcartd's provider settings for the next start
start_pay_sandbox() {
  start_paysim --throttle off --port 0 --devca "$CA"
  make_merchant shop1
  curl -sS "$PS_URL/_sim/notify-key" >"$T/notify.pem"
  export VOXCART_PROVIDER_URL="$PS_URL/sandbox/v2" VOXCART_PROVIDER_KEY_ID="$KEY_ID"
  export VOXCART_PROVIDER_PRIVATE_KEY="$KEY_FILE" VOXCART_PROVIDER_NOTIFY_KEY="$T/notify.pem"
}

# start_page_sandbox: what the headless-Chromium page tests start with (Chromium, the Node
# packages, redis, the sandbox); voxcartd is started by the test with its own settings, then
# notify_voxcartd has the sandbox notify it of approvals
start_page_sandbox() {
  command -v chromium >/dev/null || { echo "chromium is not installed (scripts/deps.sh installs it)"; exit 1; }
  paysim_node_deps
  make_devca
  start_redis
  start_pay_sandbox
}
notify_voxcartd() {
  sim POST merchants "$(jq -n --arg m "$MERCHANT" --arg k "$KEY_ID" --rawfile p "$T/$MERCHANT.pub" \
    --arg u "$BASE/provider/notifications" '{merchantId:$m, publicKeyId:$k, publicKeyPem:$p, notifyUrl:$u}')"
}
