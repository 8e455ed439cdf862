#!/usr/bin/env bash
# End to end: the paying fixture conversations (tests/fixtures/paying/) replay in en-US, en-GB
# and de-DE, each locale against a shop of its own currency: one voxcartd per shop (en-US the
# USD shop, en-GB the GBP shop, de-DE the EUR shop; tests/fixtures/_catalogs/), each with its
# own Redis and its own merchant key, all paying through one voxcart-paysim, and the janitor
# settling every 300 ms. The
# fixtures' approve steps approve the pay links at the sandbox in the buyer's place; their
# sandbox steps set up what a path needs at the sandbox (a declining or pending test card, a
# dropped answer, a declined pay link, its clock), and seeds give a customer a voice code.
# --update on the passing fixtures changes nothing. The sandbox's ledger holds one captured
# charge per PAID order of each shop's store, in the shop's currency, and no other.
# Then the first purchase again with each shop's janitor timer as good as off: the pay link is
# settled on the provider's notification; and a duplicate notification (paying/_notified/): the
# sandbox delivers the notifications again, and the order stays PAID once, one charge.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"
FIX="$SRC/tests/fixtures/paying"

make_devca
start_pay_sandbox
# the janitor every 300 ms, and a turn's budget for the provider of 500 ms, so an order the turn
# leaves pending is due to the janitor 2 s later (the budget's seconds, plus 2)
export VOXCART_JANITOR_INTERVAL_MS=300 VOXCART_PROVIDER_PAY_BUDGET_MS=500
declare -A CATALOG=([en-US]=usd [en-GB]=gbp [de-DE]=eur) URL REDIS VXPID
LOCALES=(en-US en-GB de-DE)
declare -A MERCHANT_OF KEY_ID_OF KEY_FILE_OF
# start_shop LOCALE: LOCALE's shop, a voxcartd paying as its own merchant of the sandbox
start_shop() {
  export VOXCART_CATALOG="$SRC/tests/fixtures/_catalogs/${CATALOG[$1]}.json"
  export VOXCART_REDIS_URL=${REDIS[$1]}
  export VOXCART_PROVIDER_KEY_ID=${KEY_ID_OF[$1]} VOXCART_PROVIDER_PRIVATE_KEY=${KEY_FILE_OF[$1]}
  start_voxcartd
  URL[$1]="$BASE/alexa" VXPID[$1]=$VX_PID
}
for loc in "${LOCALES[@]}"; do
  start_redis
  REDIS[$loc]=$VOXCART_REDIS_URL
  make_merchant "shop-${CATALOG[$loc]}"
  MERCHANT_OF[$loc]=$MERCHANT KEY_ID_OF[$loc]=$KEY_ID KEY_FILE_OF[$loc]=$KEY_FILE
  start_shop "$loc"
done

# replay LOCALE ARGS...: `voxcart replay` of LOCALE's runs against LOCALE's shop; sets RC, OUT
replay() {
  local loc=$1; shift
  OUT=$("$VOXCART" replay --dir "$CA" --url "${URL[$loc]}" --redis "${REDIS[$loc]}" \
    --keyword "$loc" "$@" 2>>"$T/replay.err")
  RC=$?
  STATUS=$RC BODY=$OUT
}

# Each locale is played once, with --update on a copy of the fixtures: a conversation that
# passes is not rewritten, one that does not is rewritten from what came back, so "every run
# passed" and "--update changed nothing" are one pass, and the copy must equal the tree.
cp -r "$FIX" "$T/tree"
flows=$(find "$FIX" -name '*.json' -not -path '*/_*' | wc -l)
check "there are paying fixtures" [ "$flows" -ge 1 ]
for loc in "${LOCALES[@]}"; do
  replay "$loc" --update "$T/tree"
  check "$loc: every paying fixture passes against the ${CATALOG[$loc]} shop" [ "$RC" = 0 ]
  check "$loc: each flow ran once and passed ($flows)" grep -qx "$flows passed, 0 failed" <<<"$OUT"
  check "$loc: --update changed nothing" bash -c "! grep -qE '^\[[0-9]+/[0-9]+\] (upd|FAIL)|updated' <<<\"\$1\"" _ "$OUT"
  echo "$OUT" | grep -E '^\[' | sed 's/^/     /'
done
check "--update left every paying fixture byte for byte" diff -r "$FIX" "$T/tree"

# --- the sandbox's ledger: what the conversations said was charged was charged ---
# paid_orders LOCALE: how many orders LOCALE's store recorded PAID
paid_orders() {
  local port=${REDIS[$1]##*:}
  port=${port%%/*}
  redis-cli -p "$port" --scan --pattern 'vx:*:order:*' |
    while read -r k; do redis-cli -p "$port" HGET "$k" state; done | grep -cx '"PAID"'
}
declare -A CURRENCY=([en-US]=USD [en-GB]=GBP [de-DE]=EUR)
sim GET charges
for loc in "${LOCALES[@]}"; do
  paid=$(paid_orders "$loc")
  captured=$(jq --arg c "${CURRENCY[$loc]}" \
    '[.charges[] | select(.chargeAmount.currencyCode == $c and .statusDetails.state == "Captured")] | length' <<<"$BODY")
  check "$loc: one captured ${CURRENCY[$loc]} charge at the sandbox per PAID order ($paid PAID, $captured captured)" all_of \
    [ "$paid" -gt 0 ] -- [ "$paid" = "$captured" ]
done

# stop_shops: each shop's voxcartd stopped as an operator does
stop_shops() {
  local loc rc
  for loc in "${LOCALES[@]}"; do
    kill -TERM "${VXPID[$loc]}"
    { wait "${VXPID[$loc]}"; } 2>/dev/null
    rc=$?
    check "$loc: its voxcartd stopped cleanly on SIGTERM" [ "$rc" = 0 ]
  done
}
stop_shops

# --- settled by the provider's notification: the janitor's timer as good as off ---
# Each shop again, its janitor every 10 minutes, so only a notification wakes it in time: the
# sandbox posts one to the shop's /provider/notifications when the buyer approves a pay link,
# voxcartd checks its signature and wakes the janitor, which completes the checkout session and
# charges the order well within the approve step's 30 s.
export VOXCART_JANITOR_INTERVAL_MS=600000
for loc in "${LOCALES[@]}"; do
  start_shop "$loc"
  sim POST merchants "$(jq -n --arg m "${MERCHANT_OF[$loc]}" --arg u "${URL[$loc]%/alexa}/provider/notifications" \
    '{merchantId:$m, notifyUrl:$u}')"
  check "$loc: the sandbox notifies its shop" [ "$STATUS" = 200 ] || [ "$STATUS" = 201 ]
done
for loc in "${LOCALES[@]}"; do
  replay "$loc" --update "$T/tree/first-purchase.json"
  check "$loc: the first purchase passes with the pay link settled on the notification" \
    grep -qx "1 passed, 0 failed" <<<"$OUT"
  check "$loc: ... and --update changed nothing" bash -c "! grep -q 'updated' <<<\"\$1\"" _ "$OUT"
done
check "--update left the first purchase byte for byte" cmp -s "$FIX/first-purchase.json" "$T/tree/first-purchase.json"
# A duplicate notification (paying/_notified/, which the directory walk above skips): the pay
# link settled on the notification, which the sandbox then delivers again; PAID once.
for loc in "${LOCALES[@]}"; do
  replay "$loc" --update "$T/tree/_notified/duplicate-notification.json"
  check "$loc: the duplicate notification passes, and --update changed nothing" all_of \
    grep -qx "1 passed, 0 failed" <<<"$OUT" -- bash -c "! grep -q 'updated' <<<\"\$1\"" _ "$OUT"
done
check "--update left the duplicate notification byte for byte" \
  cmp -s "$FIX/_notified/duplicate-notification.json" "$T/tree/_notified/duplicate-notification.json"
# delivered_twice PERMISSION CHARGE: every notification naming either was posted at least
# twice, the last post answered 2xx
delivered_twice() {
  sim GET notifications
  jq -e --arg p "$1" --arg c "$2" '[.notifications[] | select(.objectId == $p or .objectId == $c)] |
    length >= 2 and all(.attempts >= 2 and .delivered)' <<<"$BODY" >/dev/null
}
for loc in "${LOCALES[@]}"; do
  port=${REDIS[$loc]##*:}
  port=${port%%/*}
  # the conversation's permission: the last one the sandbox notified this shop of
  sim GET notifications
  perm=$(jq -r --arg m "${MERCHANT_OF[$loc]}" '[.notifications[] |
    select(.merchantId == $m and .objectType == "CHARGE_PERMISSION")] | last | .objectId' <<<"$BODY")
  sim GET "charges?chargePermissionId=$perm"
  check "$loc: one charge at the sandbox for the conversation's permission, captured" \
    [ "$(jq -c '[.charges[].statusDetails.state]' <<<"$BODY")" = '["Captured"]' ]
  charge=$(jq -r '.charges[0].chargeId' <<<"$BODY")
  check "$loc: the permission's and the charge's notifications were each delivered twice" \
    wait_for 20 delivered_twice "$perm" "$charge"
  key=$(redis-cli -p "$port" --scan --pattern 'vx:*:order:*' | while read -r k; do
    [ "$(redis-cli -p "$port" HGET "$k" charge_id)" = "\"$charge\"" ] && echo "$k"; done)
  ledger=${key/:order:/:ledger:}
  check "$loc: its order is PAID, with one PAID entry in its ledger" all_of \
    [ -n "$key" ] -- [ "$(redis-cli -p "$port" HGET "$key" state)" = '"PAID"' ] -- \
    [ "$(redis-cli -p "$port" LRANGE "$ledger" 0 -1 | grep -c '"to":"PAID"')" = 1 ]
done
check "the shops verified the sandbox's notifications and acted on them" grep -q "provider notification" "$T/voxcartd.log"
stop_shops
unset VX_PID
check "voxcart replay reported no sanitizer error" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \"\$1\"" _ "$T/replay.err"
finish
