#!/usr/bin/env bash
# End to end: the paying fixture conversations (tests/fixtures/paying/) replay in en-US, en-GB
# and de-DE, each locale against a shop of its own currency: one voxcartd per shop (en-US the
# USD shop, en-GB the GBP shop, de-DE the EUR shop; tests/fixtures/_catalogs/), each with its
# own Redis, all paying through one voxcart-paysim, and the janitor settling every 300 ms. The
# fixtures' approve steps approve the pay links at the sandbox in the buyer's place; their
# seeds give a customer a voice code. --update on the passing fixtures changes nothing. The
# sandbox's ledger shows that the charges the conversations say were made were made, and no
# others.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"
FIX="$SRC/tests/fixtures/paying"

make_devca
start_pay_sandbox
export VOXCART_JANITOR_INTERVAL_MS=300
declare -A CATALOG=([en-US]=usd [en-GB]=gbp [de-DE]=eur) URL REDIS VXPID
LOCALES=(en-US en-GB de-DE)
for loc in "${LOCALES[@]}"; do
  start_redis
  export VOXCART_CATALOG="$SRC/tests/fixtures/_catalogs/${CATALOG[$loc]}.json"
  start_voxcartd
  URL[$loc]="$BASE/alexa" REDIS[$loc]=$VOXCART_REDIS_URL VXPID[$loc]=$VX_PID
done

# replay LOCALE ARGS...: `voxcart replay` of LOCALE's runs against LOCALE's shop; sets RC, OUT
replay() {
  local loc=$1; shift
  OUT=$("$VOXCART" replay --dir "$CA" --url "${URL[$loc]}" --redis "${REDIS[$loc]}" \
    --keyword "$loc" "$@" 2>>"$T/replay.err")
  RC=$?
  STATUS=$RC BODY=$OUT
}

flows=$(find "$FIX" -name '*.json' -not -path '*/_*' | wc -l)
check "there are paying fixtures" [ "$flows" -ge 1 ]
for loc in "${LOCALES[@]}"; do
  replay "$loc" "$FIX"
  check "$loc: every paying fixture passes against the ${CATALOG[$loc]} shop" [ "$RC" = 0 ]
  check "$loc: each flow ran once ($flows)" grep -qx "$flows passed, 0 failed" <<<"$OUT"
  echo "$OUT" | grep -E '^\[' | sed 's/^/     /'
done

# --- --update on the passing fixtures changes nothing, in any locale ---
cp -r "$FIX" "$T/tree"
for loc in "${LOCALES[@]}"; do
  replay "$loc" --update "$T/tree"
  check "$loc: --update exits 0" [ "$RC" = 0 ]
  check "$loc: --update reports no change" bash -c "! grep -q 'updated' <<<\"\$1\"" _ "$OUT"
done
check "--update left every paying fixture byte for byte" diff -r "$FIX" "$T/tree"

# --- the sandbox's ledger: what the conversations said was charged was charged ---
sim GET charges
check "the sandbox holds charges of all three currencies" \
  [ "$(jq -r '[.charges[].chargeAmount.currencyCode] | unique | join(",")' <<<"$BODY")" = "EUR,GBP,USD" ]

for loc in "${LOCALES[@]}"; do
  kill -TERM "${VXPID[$loc]}"
  { wait "${VXPID[$loc]}"; } 2>/dev/null
  check "$loc: its voxcartd stopped cleanly on SIGTERM" [ "$?" = 0 ]
done
unset VX_PID
check "voxcart replay reported no sanitizer error" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \"\$1\"" _ "$T/replay.err"
finish
