#!/usr/bin/env bash
# End to end: the paying fixture conversations of the platform's rail
# (tests/fixtures/paying-platform/) replay in en-US, en-GB and de-DE, each locale against a
# shop of its own currency on rail "platform" (tests/fixtures/_catalogs/*-platform.json: the
# USD shop established in the US, the GBP shop in the UK, the EUR shop in Germany), one
# voxcartd and one Redis per shop. The fixtures send the platform's Connections.Response
# requests themselves, with the directive's token (the attempt key, %ATTEMPT_ID%.setup or
# .charge), so no payment sandbox takes part. --update on the passing fixtures changes
# nothing. Then each store is counted: one PAID ledger entry per PAID order (the duplicate
# responses added none), and nothing charged twice.
. "$(dirname "$0")/lib.sh" "$1"
export VOXCART_PAYMENTS=provider
declare -A CATALOG=([en-US]=usd [en-GB]=gbp [de-DE]=eur) URL REDIS VXPID
LOCALES=(en-US en-GB de-DE)

make_devca
for loc in "${LOCALES[@]}"; do
  start_redis
  REDIS[$loc]=$VOXCART_REDIS_URL
  export VOXCART_CATALOG="$SRC/tests/fixtures/_catalogs/${CATALOG[$loc]}-platform.json"
  start_voxcartd
  URL[$loc]="$BASE/alexa" VXPID[$loc]=$VX_PID
done

# The fixtures share the request bodies of paying/_requests: the copy keeps both directories.
mkdir -p "$T/tree"
cp -r "$SRC/tests/fixtures/paying" "$SRC/tests/fixtures/paying-platform" "$T/tree/"
FIX="$SRC/tests/fixtures/paying-platform"
flows=$(find "$FIX" -name '*.json' -not -path '*/_*' | wc -l)
check "there are platform paying fixtures" [ "$flows" -ge 1 ]
for loc in "${LOCALES[@]}"; do
  OUT=$("$VOXCART" replay --dir "$CA" --url "${URL[$loc]}" --redis "${REDIS[$loc]}" \
    --keyword "$loc" --update "$T/tree/paying-platform" 2>>"$T/replay.err")
  RC=$?
  STATUS=$RC BODY=$OUT
  check "$loc: every platform fixture passes against the ${CATALOG[$loc]} platform shop" [ "$RC" = 0 ]
  check "$loc: each flow ran once and passed ($flows)" grep -qx "$flows passed, 0 failed" <<<"$OUT"
  check "$loc: --update changed nothing" bash -c "! grep -qE '^\[[0-9]+/[0-9]+\] (upd|FAIL)|updated' <<<\"\$1\"" _ "$OUT"
  echo "$OUT" | grep -E '^\[' | sed 's/^/     /'
  [ -n "${VX_KEEP_UPDATED:-}" ] && cp -r "$T/tree/paying-platform/." "$VX_KEEP_UPDATED/"
done
check "--update left every platform fixture byte for byte" diff -r "$FIX" "$T/tree/paying-platform"

# --- the stores: PAID once per order, whatever arrived twice ---
for loc in "${LOCALES[@]}"; do
  port=${REDIS[$loc]##*:}
  port=${port%%/*}
  paid=0 once=0
  while read -r k; do
    [ "$(redis-cli -p "$port" HGET "$k" state)" = '"PAID"' ] || continue
    paid=$((paid + 1))
    entries=$(redis-cli -p "$port" LRANGE "${k/:order:/:ledger:}" 0 -1)
    [ "$(grep -c '"to":"PAID"' <<<"$entries")" = 1 ] &&
      grep -q '"actor":"platform","from":"CHARGE_PENDING","to":"PAID"' <<<"$entries" && once=$((once + 1))
  done < <(redis-cli -p "$port" --scan --pattern 'vx:*:order:*')
  check "$loc: every PAID order has exactly one PAID ledger entry, by the platform ($paid PAID)" all_of \
    [ "$paid" -gt 0 ] -- [ "$paid" = "$once" ]
done
check "the unknown token was logged" grep -q "with the unknown token" "$T/voxcartd.log"
check "the merchant integration errors were logged as errors" \
  grep -q "error.*the platform refuses our integration" "$T/voxcartd.log"
for loc in "${LOCALES[@]}"; do # stopped as an operator does, so LeakSanitizer sees each exit
  kill -TERM "${VXPID[$loc]}"
  { wait "${VXPID[$loc]}"; } 2>/dev/null
  rc=$?
  check "$loc: its voxcartd stopped cleanly on SIGTERM" [ "$rc" = 0 ]
done
unset VX_PID
check "voxcart replay reported no sanitizer error" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \"\$1\"" _ "$T/replay.err"
finish
