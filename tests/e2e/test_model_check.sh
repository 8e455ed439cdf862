#!/usr/bin/env bash
# `voxcart model check`: passes on the repository's intents/, and fails with one
# line naming the file and the place for each way a copy can disagree: an intent
# removed from a model, an intent the dialog does not know, a slot value ID that
# is not in the catalog, two slots side by side in a sample, a message key
# missing in one locale, a catalog product no model knows, a broken catalog.
. "$(dirname "$0")/lib.sh" "$1"

# mc ARGS...: runs the check; sets RC, OUT (stdout), ERR (stderr)
mc() {
  OUT=$("$VOXCART" model check "$@" 2>"$T/mc.err")
  RC=$?
  ERR=$(cat "$T/mc.err")
  STATUS=$RC
  BODY="$OUT $ERR"
}
has() { grep -qF -- "$2" <<<"$1"; }
# fresh_copy: a private copy of intents/ in $C
fresh_copy() {
  rm -rf "$T/intents"
  cp -r "$SRC/intents" "$T/intents"
  C="$T/intents"
}
# edit FILE JQ-FILTER: rewrites a JSON file in place
edit() {
  jq "$2" "$1" >"$1.new" && mv "$1.new" "$1"
}

mc --dir "$SRC/intents"
check "the repository's models, dialog, catalog and messages agree" [ "$RC" = 0 ]
check "success says so" has "$OUT" "models, dialog, catalog and messages agree: 3 locales"

fresh_copy
edit "$C/models/en-GB.json" 'del(.interactionModel.languageModel.intents[] | select(.name == "CartIntent"))'
mc --dir "$C"
check "an intent removed from a model fails" [ "$RC" = 1 ]
check "the line names the model and the missing intent" has "$OUT" \
  "$C/models/en-GB.json: interactionModel.languageModel.intents: 'CartIntent' is handled by the dialog but missing from this model"
check "only that model is named" [ "$(grep -c . <<<"$OUT")" = 1 ]
check "the problems are counted on stderr" has "$ERR" "voxcart: model check: 1 problem"

fresh_copy
at=$(jq '.interactionModel.languageModel.intents | length' "$C/models/de-DE.json") # where it lands
edit "$C/models/de-DE.json" '.interactionModel.languageModel.intents += [{"name": "PizzaIntent", "samples": ["eine pizza"]}]'
mc --dir "$C"
check "an intent the dialog does not know fails" [ "$RC" = 1 ]
check "the line names the intent and its place" has "$OUT" \
  "$C/models/de-DE.json: interactionModel.languageModel.intents[$at] 'PizzaIntent': not handled by the dialog (no line in intents.def)"

fresh_copy
edit "$C/models/en-US.json" '(.interactionModel.languageModel.types[] | select(.name == "PRODUCT") | .values[] | select(.id == "latte") | .id) = "latte_xl"'
mc --dir "$C"
check "an unknown slot value ID fails" [ "$RC" = 1 ]
check "the line names the type, the value and the ID" has "$OUT" \
  "$C/models/en-US.json: interactionModel.languageModel.types[0] 'PRODUCT'.values[0]: id 'latte_xl' is not a product in"
check "the catalog product the model lost is named too" has "$OUT" \
  "$C/models/en-US.json: interactionModel.languageModel.types[0] 'PRODUCT': catalog product 'latte' is missing"

fresh_copy
edit "$C/models/en-US.json" '(.interactionModel.languageModel.intents[] | select(.name == "OrderIntent") | .samples) += ["{quantity} times {size} {product}"]'
mc --dir "$C"
check "two slots side by side are a warning, not a failure" [ "$RC" = 0 ]
check "the warning names the file and the sample, on stderr" has "$ERR" \
  "$C/models/en-US.json: warning: interactionModel.languageModel.intents[0] 'OrderIntent'.samples["
check "... and why" has "$ERR" \
  "'{quantity} times {size} {product}': two slots side by side: the platform matches it, request generators such as virtual-alexa do not"
check "stdout holds no problem line" [ "$(grep -c 'warning' <<<"$OUT")" = 0 ]

# the samples customers need: "two large lattes", "a medium cappuccino", "an espresso", "I'd like a ..."
for want in 'en-US:{quantity} {size} {product}' 'en-US:a {size} {product}' 'en-US:an {product}' \
  "en-US:I'd like a {size} {product}" 'en-GB:{quantity} {size} {product}' 'en-GB:an {product}' \
  "en-GB:I'd like a {size} {product}" 'de-DE:{quantity} {size} {product}' \
  'de-DE:einen {size} {product}' 'de-DE:ich hätte gern einen {size} {product}'; do
  loc=${want%%:*} sample=${want#*:}
  check "$loc OrderIntent has '$sample'" jq -e --arg s "$sample" \
    '.interactionModel.languageModel.intents[] | select(.name == "OrderIntent") | .samples | index($s)' \
    "$SRC/intents/models/$loc.json"
done
# the built-in intents with local samples, where test tools need them
for want in de-DE:AMAZON.YesIntent:ja de-DE:AMAZON.NoIntent:nein de-DE:AMAZON.HelpIntent:hilfe \
  de-DE:AMAZON.CancelIntent:abbrechen de-DE:AMAZON.StopIntent:stopp en-GB:AMAZON.YesIntent:yes \
  en-GB:AMAZON.NoIntent:no en-GB:AMAZON.HelpIntent:help en-GB:AMAZON.CancelIntent:cancel \
  en-GB:AMAZON.StopIntent:stop; do
  IFS=: read -r loc intent sample <<<"$want"
  check "$loc $intent has '$sample'" jq -e --arg i "$intent" --arg s "$sample" \
    '.interactionModel.languageModel.intents[] | select(.name == $i) | .samples | index($s)' \
    "$SRC/intents/models/$loc.json"
done

fresh_copy
edit "$C/models/en-US.json" '(.interactionModel.languageModel.intents[] | select(.name == "CartIntent") | .samples) += ["show {colour}"]'
mc --dir "$C"
check "a sample naming a slot the intent lacks fails" has "$OUT" \
  "'show {colour}': slot {colour} is not a slot of this intent"

fresh_copy
edit "$C/messages/de-DE.json" 'del(.["help.idle"])'
mc --dir "$C"
check "a message key missing in one locale fails" [ "$RC" = 1 ]
check "the line names the file and the key" has "$OUT" \
  "$C/messages/de-DE.json: missing key 'help.idle' (present in $C/messages/en-GB.json)"
check "and that the dialog speaks it" has "$OUT" "$C/messages/de-DE.json: missing message 'help.idle'"

fresh_copy
edit "$C/catalog.json" '.products += [{"id": "tea", "names": {"en": {"one": "tea"}, "de": {"one": "Tee"}}, "price": 200}]'
mc --dir "$SRC/intents" --catalog "$C/catalog.json"
check "a catalog product missing from the models fails" [ "$RC" = 1 ]
check "each model is named" [ "$(grep -c "catalog product 'tea' is missing" <<<"$OUT")" = 3 ]

fresh_copy
edit "$C/catalog.json" '.products[1].price = 2.5'
mc --dir "$C"
check "a broken catalog fails" [ "$RC" = 1 ]
check "the line names the catalog field" has "$OUT" \
  "$C/catalog.json: products[1].price: must be a non-negative integer (minor units)"

fresh_copy
rm "$C/messages/en-GB.json"
mc --dir "$C"
check "a model without messages fails" has "$OUT" "$C/models/en-GB.json: no messages/en-GB.json for this locale"

"$VOXCART" model >/dev/null 2>&1
check "usage errors exit 2" [ "$?" = 2 ]
"$VOXCART" model check --help | grep -q -- "--catalog FILE"
check "--help describes the options" [ "$?" = 0 ]
finish
