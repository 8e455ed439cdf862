#!/usr/bin/env bash
# End to end: a fixture with a "locales" table (tests/fixtures/ordering/) plays once per
# locale, --keyword selects a locale, --update on a passing file changes nothing, and an
# update of one locale rewrites that locale's word only; a shared place that changed
# becomes a word that every locale's run then fills in. A table that lacks a word for one
# locale is refused before anything is sent.
. "$(dirname "$0")/lib.sh" "$1"

replay() { # sets RC, OUT (stdout and stderr)
  OUT=$("$VOXCART" replay --dir "$CA" --url "$BASE/alexa" "$@" 2>&1)
  RC=$?
  STATUS=$RC
  BODY=$OUT
}
has() { grep -qE -- "$2" <<<"$1"; }
word() { jq -c --arg l "$2" --arg w "$3" '.locales[$l][$w]' "$1"; } # word FILE LOCALE NAME

make_devca
start_redis
start_voxcartd

F=$T/cart-review.json
cp "$SRC/tests/fixtures/ordering/cart-review.json" "$F"

replay "$F"
check "one file plays once per locale" has "$OUT" '^3 passed, 0 failed$'
check "each run is named with its locale" has "$OUT" '^\[2/3\] ok   .*cart-review\.json \(en-GB\)$'
flows=$(find "$SRC/tests/fixtures/ordering" -name '*.json' | wc -l)
replay --keyword de-DE "$SRC/tests/fixtures/ordering"
check "--keyword de-DE selects the de-DE run of every flow" has "$OUT" "^$flows passed, 0 failed\$"
check "and only those" bash -c "! grep -qE '\((en-US|en-GB)\)' <<<\"\$1\"" _ "$OUT"

cp "$F" "$T/before.json"
replay --update "$F"
check "--update on a passing file passes" [ "$RC" = 0 ]
check "--update on a passing file changes nothing" cmp -s "$F" "$T/before.json"

# one locale's word is wrong: only that locale fails, and --update rewrites only that word
jq '.locales["en-GB"].T4_SSML = "/^<speak>.*Your trolley has.*</speak>$/"' "$T/before.json" >"$F"
replay "$F"
check "a wrong en-GB word fails en-GB only" has "$OUT" '^2 passed, 1 failed$'
check "the failure names the locale" has "$OUT" 'FAIL .*cart-review\.json \(en-GB\)$'
replay --update "$F"
check "--update of one locale exits 0" [ "$RC" = 0 ]
check "--update names the turn" has "$OUT" 'updated turn 4 .*response\.outputSpeech\.ssml'
check "en-GB's word is the answer now" has "$(word "$F" en-GB T4_SSML)" 'Your basket has 2 large'
check "en-US's word is untouched" [ "$(word "$F" en-US T4_SSML)" = "$(word "$T/before.json" en-US T4_SSML)" ]
check "the turns are untouched" \
  [ "$(jq -c .turns "$F")" = "$(jq -c .turns "$T/before.json")" ]
replay "$F"
check "the updated file passes in every locale" has "$OUT" '^3 passed, 0 failed$'

# a shared place that changed becomes a word for the locales not yet played, and is
# shared again once every locale's run agrees on it
jq '.turns[0].expect.response.response.shouldEndSession = true' "$T/before.json" >"$F"
replay --update --keyword en-US "$F"
check "--update of a shared place for one locale exits 0" [ "$RC" = 0 ]
check "the place names a new word" \
  [ "$(jq -r '.turns[0].expect.response.response.shouldEndSession' "$F")" = "%T1_SHOULDENDSESSION%" ]
check "en-US's value is its answer" [ "$(word "$F" en-US T1_SHOULDENDSESSION)" = false ]
check "the other locales keep what the place said" [ "$(word "$F" de-DE T1_SHOULDENDSESSION)" = true ]
replay "$F"
check "so they still fail" has "$OUT" '^1 passed, 2 failed$'
replay --update "$F"
check "--update of every locale exits 0" [ "$RC" = 0 ]
check "the agreed word is folded back into the turn" \
  [ "$(jq -S . "$F")" = "$(jq -S . "$T/before.json")" ]
cp "$F" "$T/folded.json"

# a word missing for one locale is refused, naming the file and the word
jq 'del(.locales["de-DE"].LATTES)' "$T/before.json" >"$T/broken.json"
replay "$T/broken.json"
check "a missing word fails the file" [ "$RC" = 1 ]
check "the message names the locale and the word" has "$OUT" "broken\.json: locales\.de-DE: missing word 'LATTES'"
jq '. + {locale: "en-US"}' "$T/before.json" >"$T/both.json"
replay "$T/both.json"
check "'locale' beside 'locales' is refused" has "$OUT" "both 'locale' and 'locales'"
finish
