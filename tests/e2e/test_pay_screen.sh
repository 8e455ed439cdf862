#!/usr/bin/env bash
# The pay link on a device with a screen, against voxcart-paysim: a customer without a saved
# permission says yes on a device with Alexa.Presentation.APL in its supportedInterfaces; the
# answer has the pay-link card and an Alexa.Presentation.APL.RenderDocument directive whose AVG
# path is drawn back here into a PBM (modules as the path's rectangles, nothing else) and read by
# zbarimg: what it reads is the card's link. The same order from a device without APL gets the
# card alone, and a paid order on a screen gets its receipt without a code.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"

start_pay_servers 0 # no janitor: the pay links stay as the turn left them
APL='{"Alexa.Presentation.APL":{"runtime":{"maxVersion":"2024.1"}}}'
apl() { jq -c '[.response.directives[]? | select(.type == "Alexa.Presentation.APL.RenderDocument")]' <<<"$BODY"; }

# raster PATHDATA SIDE SCALE: the PBM of an AVG path made of rectangles "M<x>,<y>h<w>v1h-<w>z"
# (the only shape the code uses); anything else in the path fails
raster() {
  awk -v path="$1" -v side="$2" -v s="$3" 'BEGIN {
    n = split(path, el, "z")
    for (i = 1; i < n; i++) {
      if (el[i] !~ /^M[0-9]+,[0-9]+h[0-9]+v1h-[0-9]+$/) { print "not a module run: " el[i] > "/dev/stderr"; exit 1 }
      split(el[i], f, /[^0-9]+/) # "", x, y, w, 1, w
      if (f[4] != f[6] || f[2] + f[4] > side || f[3] >= side) { print "bad run: " el[i] > "/dev/stderr"; exit 1 }
      for (x = f[2]; x < f[2] + f[4]; x++) dark[x, f[3]] = 1
    }
    if (el[n] != "") { print "path does not end a run: " el[n] > "/dev/stderr"; exit 1 }
    printf "P1\n%d %d\n", side * s, side * s
    for (py = 0; py < side * s; py++) {
      line = ""
      for (px = 0; px < side * s; px++) line = line (((int(px / s), int(py / s)) in dark) ? "1" : "0")
      print line
    }
  }'
}

# --- a screen, no saved permission: the card and the code of its link ---
INTERFACES=$APL order_and_yes sam
check "yes on a screen without a permission is answered HTTP 200" [ "$STATUS" = 200 ]
check "the order waits as CHARGE_PENDING" [ "$(order_field sam state)" = '"CHARGE_PENDING"' ]
check "the answer is within the platform's 120 KB" [ "${#BODY}" -lt 122880 ]
link=$(jq -r '.response.card.content | split("\n") | last' <<<"$BODY")
check "the card carries the pay link" contains "$link" "/checkout/"
check "the speech points at the screen" contains "$BODY" "scan the code on your screen"
check "one RenderDocument directive" [ "$(apl | jq length)" = 1 ]
d=$(apl | jq -c '.[0]')
check "named by the order" [ "$(jq -r .token <<<"$d")" = "pay-link-$(last_order sam | tr -d '"')" ]
check "an APL document" [ "$(jq -r .document.type <<<"$d")" = APL ]
check "its title is the card's" [ "$(jq -r .datasources.code.title <<<"$d")" = "$(jq -r .response.card.title <<<"$BODY")" ]
check "its line names the total" contains "$(jq -r .datasources.code.text <<<"$d")" "€5.00"
check "the texts are bound from the datasources" \
  [ "$(jq -r '[.. | objects | select(.type == "Text") | .text] | join(" ")' <<<"$(jq .document <<<"$d")")" = '${payload.code.title} ${payload.code.text}' ]
check "the document shows the graphic" \
  [ "$(jq -r '[.. | objects | select(.type == "VectorGraphic") | .source] | join(" ")' <<<"$(jq .document <<<"$d")")" = payCode ]
g=$(jq -c .document.graphics.payCode <<<"$d")
side=$(jq -r .width <<<"$g")
check "the graphic is a square AVG" [ "$(jq -r '.type + " " + (.height | tostring)' <<<"$g")" = "AVG $side" ]
check "a white square under everything" \
  [ "$(jq -r '.items[0].fill + " " + .items[0].pathData' <<<"$g")" = "#FFFFFF M0,0h${side}v${side}h-${side}z" ]
check "the modules in black" [ "$(jq -r '.items[1].fill' <<<"$g")" = "#000000" ]
raster "$(jq -r '.items[1].pathData' <<<"$g")" "$side" 4 >"$T/code.pbm"
check "the path draws only module runs" [ -s "$T/code.pbm" ]
read=$(zbarimg -q --raw -Sbinary "$T/code.pbm" 2>/dev/null)
check "zbarimg reads the code drawn from the path" [ -n "$read" ]
check "and it is the card's link ($read)" [ "$read" = "$link" ]
check "a version 1 to 10 symbol with its quiet zone ($side modules)" \
  bash -c '[ $(( ($0 - 8 - 17) % 4 )) = 0 ] && [ "$0" -ge 29 ] && [ "$0" -le 65 ]' "$side"
session=$(order_field sam checkout_session_id | tr -d '"')
check "the link is the order's checkout session" contains "$link" "$session"

# --- the same without a screen: the card alone ---
order_and_yes tom
check "yes without a screen is answered HTTP 200" [ "$STATUS" = 200 ]
check "the card carries the pay link" contains "$(jq -r .response.card.content <<<"$BODY")" "/checkout/"
check "the speech points at the app" contains "$BODY" "To pay 5 euros, open the link"
check "and not at a screen" bash -c '! grep -q "scan the code" <<<"$0"' "$BODY"
check "no directive at all" [ "$(jq '.response.directives // [] | length' <<<"$BODY")" = 0 ]

# --- a device whose interfaces do not include APL: no directive either ---
INTERFACES='{"AudioPlayer":{}}' order_and_yes uma
check "a device with other interfaces gets the card" contains "$BODY" "/checkout/"
check "and no directive" [ "$(jq '.response.directives // [] | length' <<<"$BODY")" = 0 ]

# --- a screen, a saved permission: charged in the turn, the receipt and no code ---
permission val card-ok
INTERFACES=$APL order_and_yes val
check "a screen with a permission is charged in the turn" contains "$BODY" "charged 5 euros"
check "with no code on the screen" [ "$(apl | jq length)" = 0 ]

finish
