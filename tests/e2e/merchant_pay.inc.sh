# Shared by the merchant API tests that reach the payment sandbox (sourced after lib.sh): the
# sandbox with merchant shop1, voxcartd pointed at its sandbox and live endpoints
# (merchant.inc.sh), tokens of the demo merchant (FULL, READ) and of another (OTHER), and
# call TOKEN METHOD PATH [curl args...].
. "$SRC/tests/paysim/lib.sh"
start_paysim --throttle off --port 0
make_merchant shop1
export VOXCART_PROVIDER_URL="$PS_URL/sandbox/v2" VOXCART_PROVIDER_LIVE_URL="$PS_URL/live/v2" \
  VOXCART_PROVIDER_KEY_ID=$KEY_ID VOXCART_PROVIDER_PRIVATE_KEY=$KEY_FILE \
  VOXCART_JANITOR_INTERVAL_MS=300
. "$(dirname "${BASH_SOURCE[0]}")/merchant.inc.sh"
FULL=$(tok --merchant demo)
READ=$(tok --merchant demo --scope read)
OTHER=$(tok --merchant someone_else)

call() { # call TOKEN METHOD PATH [curl args...]: sets STATUS and BODY
  local t=$1 m=$2 p=$3; shift 3
  BODY=$(curl -s --cacert "$CA/root.pem" -o - -w '\n%{http_code}' -X "$m" \
    -H "Authorization: Bearer $t" "$@" "$BASE$p")
  STATUS=${BODY##*$'\n'}
  BODY=${BODY%$'\n'*}
}
code_is() { [ "$STATUS" = "$1" ] && [ "$(jq -r .error.code <<<"$BODY")" = "$2" ]; }
