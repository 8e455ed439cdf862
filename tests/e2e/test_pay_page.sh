#!/usr/bin/env bash
# The pay link end to end in headless Chromium: a first-time customer's yes is answered with a
# card holding the link; the link opens the provider's approval page (the sandbox's), which names
# the shop and the total; the customer approves; the provider's notification (and the janitor)
# completes it: the order is PAID with one captured charge at the sandbox and the agreement is
# saved, so the customer's next yes is charged in the turn.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"

start_page_sandbox
export VOXCART_JANITOR_INTERVAL_MS=1000
start_voxcartd
notify_voxcartd

order_and_yes hana
link=$(jq -r '.response.card.content' <<<"$BODY" | grep -o 'http[^ ]*/checkout/[A-Za-z0-9-]*')
check "the yes of a first-time customer is a card with the pay link" [ -n "$link" ]
out=$(cd "$PS_NODE" && timeout 120 node paylink.js "$link" "$MERCHANT" "EUR 5.00" 2>&1); rc=$?
echo "$out"
check "every page check passed in headless Chromium" [ "$rc" = 0 ]
check "all of them ran" [ "$(grep -c '^ok' <<<"$out")" -ge 4 ]
check "the order is PAID once the approval is in" wait_for 20 paid hana
perm=$(rcli HGET "$(profile_key hana)" billing_agreement | jq -r .id)
check "the agreement the customer approved is saved as chargeable" \
  contains "$(rcli HGET "$(profile_key hana)" billing_agreement)" '"Chargeable"'
check "one captured charge for it at the sandbox" [ "$(charges "$perm" Captured)" = 1 ]
order_and_yes hana
check "the next yes is charged in the turn" contains "$BODY" "charged 5 euros"
check "with a receipt card" contains "$BODY" "Paid $(date -u +%Y-%m-%d)"
check "two captured charges now" [ "$(charges "$perm" Captured)" = 2 ]
finish
