#!/usr/bin/env bash
# End to end: subscribing by voice (tests/fixtures/subscribing/) in en-US, en-GB and de-DE, each
# locale against a shop of its own currency (tests/fixtures/_catalogs/: the USD, GBP and EUR
# shops with their plans), each voxcartd with its own Redis and merchant key, the janitor every
# 300 ms and the biller every 200 ms, all paying through one voxcart-paysim. The conversations
# choose a plan, hear the summary, pay the first cycle (by pay link, or on the saved permission
# in the turn), start a trial, list, pause, resume, skip and cancel. --update on the passing
# fixtures changes nothing. Then the sandbox's own ledger: every cycle a subscription counts
# paid is one captured charge there, with the cycle's order as its reference, and nothing was
# charged twice or for a subscription whose first payment failed.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"
FIX="$SRC/tests/fixtures/subscribing"

make_devca
start_pay_sandbox
export VOXCART_JANITOR_INTERVAL_MS=300 VOXCART_PROVIDER_PAY_BUDGET_MS=2000
export VOXCART_BILLER_INTERVAL_MS=200 VOXCART_BILLER_LEASE_MS=2000 VOXCART_BILLER_SETTLE_S=1
export VOXCART_BILLER_RATE=50 VOXCART_BILLER_BURST=50
head -c 48 /dev/urandom | base64 >"$T/jwt.secret"
export VOXCART_JWT_KEY="$T/jwt.secret" # the merchant API, to read what the customers made
declare -A CATALOG=([en-US]=usd [en-GB]=gbp [de-DE]=eur) URL REDIS VXPID
declare -A CURRENCY=([en-US]=USD [en-GB]=GBP [de-DE]=EUR)
LOCALES=(en-US en-GB de-DE)
for loc in "${LOCALES[@]}"; do
  start_redis
  REDIS[$loc]=$VOXCART_REDIS_URL
  make_merchant "subs-${CATALOG[$loc]}"
  export VOXCART_CATALOG="$SRC/tests/fixtures/_catalogs/${CATALOG[$loc]}.json"
  export VOXCART_PROVIDER_KEY_ID=$KEY_ID VOXCART_PROVIDER_PRIVATE_KEY=$KEY_FILE
  start_voxcartd
  URL[$loc]="$BASE/alexa" VXPID[$loc]=$VX_PID
done

# replay LOCALE ARGS...: `voxcart replay` of LOCALE's runs against LOCALE's shop; sets RC, OUT
replay() {
  local loc=$1; shift
  OUT=$("$VOXCART" replay --dir "$CA" --url "${URL[$loc]}" --redis "${REDIS[$loc]}" \
    --keyword "$loc" "$@" 2>>"$T/replay.err")
  RC=$?
}

cp -r "$FIX" "$T/tree"
flows=$(find "$FIX" -name '*.json' -not -path '*/_*' | wc -l)
check "there are subscribing fixtures" [ "$flows" -ge 3 ]
for loc in "${LOCALES[@]}"; do
  replay "$loc" --update "$T/tree"
  check "$loc: every subscribing fixture passes against the ${CATALOG[$loc]} shop" [ "$RC" = 0 ]
  check "$loc: each flow ran once and passed ($flows)" grep -qx "$flows passed, 0 failed" <<<"$OUT"
  check "$loc: --update changed nothing" bash -c "! grep -qE '^\[[0-9]+/[0-9]+\] (upd|FAIL)|updated' <<<\"\$1\"" _ "$OUT"
  echo "$OUT" | sed "s/^/     /"
done
check "--update left every subscribing fixture byte for byte" diff -r "$FIX" "$T/tree"

# --- the sandbox's ledger: every cycle paid once, and nothing else ---
sim GET charges
echo "$BODY" >"$T/charges.json"
for loc in "${LOCALES[@]}"; do
  port=${REDIS[$loc]##*:}
  port=${port%%/*}
  # the subscriptions of the shop's store: id, cycles paid, status
  redis-cli -p "$port" --scan --pattern 'vx:*:sub:*' | while read -r k; do
    printf '%s %s %s\n' "$(redis-cli -p "$port" HGET "$k" id | tr -d '"')" \
      "$(redis-cli -p "$port" HGET "$k" cycles_paid)" "$(redis-cli -p "$port" HGET "$k" status | tr -d '"')"
  done >"$T/subs-$loc"
  made=$(wc -l <"$T/subs-$loc")
  paid=$(awk '{s += $2} END {print s + 0}' "$T/subs-$loc")
  captured=$(jq --arg c "${CURRENCY[$loc]}" '[.charges[] | select(.chargeAmount.currencyCode == $c and
    .statusDetails.state == "Captured" and ((.merchantMetadata.merchantReferenceId // .chargeReferenceId // "") | startswith("sub_")))] | length' "$T/charges.json")
  check "$loc: the conversations made subscriptions ($made)" [ "$made" -ge 4 ]
  check "$loc: one captured ${CURRENCY[$loc]} charge at the sandbox per cycle paid ($paid paid, $captured captured)" all_of \
    [ "$paid" -gt 0 ] -- [ "$paid" = "$captured" ]
  # no cycle charged twice: each cycle's order is the reference of one captured charge at most
  dup=$(jq -r --arg c "${CURRENCY[$loc]}" '[.charges[] | select(.chargeAmount.currencyCode == $c and .statusDetails.state == "Captured") |
    (.merchantMetadata.merchantReferenceId // .chargeReferenceId // "")] | map(select(startswith("sub_"))) | group_by(.) | map(select(length > 1)) | length' "$T/charges.json")
  check "$loc: no cycle has two captured charges" [ "$dup" = 0 ]
  check "$loc: a subscription whose first payment was declined was ended, and charged nothing" \
    grep -qE '^sub_[a-z0-9]{12} 0 canceled$' "$T/subs-$loc"
done

# --- the merchant's side: the shop's index lists them, the log has what the customer did ---
for loc in "${LOCALES[@]}"; do
  port=${REDIS[$loc]##*:}
  port=${port%%/*}
  idx=$(redis-cli -p "$port" --scan --pattern 'vx:{m:*}:subs:*' | grep -v ':idx$' | head -n 1)
  indexed=$([ -n "$idx" ] && redis-cli -p "$port" HLEN "$idx" || echo 0)
  check "$loc: the shop's index lists every subscription made by voice ($indexed)" \
    [ "$indexed" = "$(wc -l <"$T/subs-$loc")" ]
  ev=$(redis-cli -p "$port" --scan --pattern 'vx:{m:*}:events' | head -n 1)
  redis-cli -p "$port" HVALS "$ev" >"$T/events-$loc" 2>/dev/null ||
    redis-cli -p "$port" LRANGE "$ev" 0 -1 >"$T/events-$loc"
  for type in created paused resumed skipped canceled cycle_paid; do
    n=$(grep -c "\"type\":\"subscription.$type\"" "$T/events-$loc")
    check "$loc: the merchant's log has subscription.$type events ($n)" [ "$n" -ge 1 ]
  done
  check "$loc: the customer's changes say who made them" grep -q '"by":"customer"' "$T/events-$loc"
  # the merchant API lists them as it lists its own
  shop=$(jq -r .merchant.id "$SRC/tests/fixtures/_catalogs/${CATALOG[$loc]}.json")
  tok=$("$VOXCART" token --key "$T/jwt.secret" --merchant demo)
  curl -s --cacert "$CA/root.pem" -H "Authorization: Bearer $tok" \
    "${URL[$loc]%/alexa}/v1/shops/$shop/subscriptions?limit=100" >"$T/api-$loc.json"
  check "$loc: the merchant API lists every subscription made by voice, with its status" all_of \
    [ "$(jq '.data | length' "$T/api-$loc.json")" = "$(wc -l <"$T/subs-$loc")" ] -- \
    [ "$(jq -r '[.data[].status] | sort | join(",")' "$T/api-$loc.json")" = \
      "$(awk '{print $3}' "$T/subs-$loc" | sort | paste -sd, -)" ]
done

for loc in "${LOCALES[@]}"; do
  kill -TERM "${VXPID[$loc]}"
  { wait "${VXPID[$loc]}"; } 2>/dev/null
  check "$loc: its voxcartd stopped cleanly on SIGTERM" [ "$?" = 0 ]
done
finish
