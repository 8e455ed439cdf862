#!/usr/bin/env bash
# The demo as a newcomer meets it: `scripts/demo.sh start` (what `make demo` runs), then the
# README's commands copied as they stand (the sample order, the yes, replay -v over every
# fixture), and what an operator reads: the metrics, the certificate log line, the messages
# of the programs.
. "$(dirname "$0")/lib.sh" "$1"
D="$T/demo"
VX_DEMO_DIR="$D" VX_DEMO_BUILD="$BUILD" bash "$SRC/scripts/demo.sh" start >"$T/demo.out" 2>&1
rc=$?
for f in voxcartd redis paysim; do [ -f "$D/$f.pid" ] && PIDS+=("$(cat "$D/$f.pid")"); done
check "the demo starts" [ "$rc" = 0 ]
port=$(sed -n 's|^== voxcartd is listening on https://127.0.0.1:\([0-9]*\) (redis on 127.0.0.1:\([0-9]*\))|\1|p' "$T/demo.out")
rport=$(sed -n 's|^== voxcartd is listening on https://127.0.0.1:\([0-9]*\) (redis on 127.0.0.1:\([0-9]*\))|\2|p' "$T/demo.out")
check "it says where it listens" all_of [ -n "$port" ] -- [ -n "$rport" ]
check "and answers its LaunchRequest" grep -q 'Welcome to Corner Coffee' "$T/demo.out"
check "the first yes is a pay link to the sandbox's page" grep -q '/checkout/' "$T/demo.out"
check "the demo approves it and the janitor charges it" grep -q 'the janitor completed the pay link: charges at the sandbox: 1' "$T/demo.out"
check "the second order is charged in the turn" grep -q "charged 9 euros to your saved payment method" "$T/demo.out"
check "with a receipt card" grep -q "^Paid $(date -u +%Y-%m-%d)" "$T/demo.out"
check "two charges at the sandbox's ledger" grep -q 'charges at the sandbox now: 2' "$T/demo.out"
check "the merchant subscribes the customer, and the biller charges the first cycle" \
  grep -qE '^== the biller charged subscription sub_[a-z0-9]{12}: cycles paid 1, order sub_[a-z0-9]{12}-1 PAID' "$T/demo.out"
check "the customer subscribes by voice: the summary with the amount and the interval" \
  grep -q 'A subscription to house blend every 2 weeks is 11 euros and 90 cents each time' "$T/demo.out"
check "... the first cycle is charged on the saved permission, and the biller records it paid" all_of \
  grep -qE "I&apos;ve charged 11 euros and 90 cents to your saved payment method|still finishing the first payment of your subscription" "$T/demo.out" -- \
  grep -qE '^== the customer.s subscription sub_[a-z0-9]{12} \(house_blend_fortnightly\): cycles paid 1, order sub_[a-z0-9]{12}-1 PAID' "$T/demo.out"
check "... and hears what it is subscribed to" \
  grep -qE 'You have .*house blend every 2 weeks for 11 euros and 90 cents, next charged on' "$T/demo.out"

# the README's lines, with the demo's own directory, binaries and ports
readme_line() { # readme_line WORDS: the README command line that starts with "build/voxcart WORDS"
  grep -m1 "^build/voxcart $1" "$SRC/README.md" | sed -e "s|build/voxcart|$BUILD/voxcart|" \
    -e "s|\.demo/|$D/|g" -e "s|:8443/|:$port/|g" -e "s|:6390/|:$rport/|g"
}
run_readme() { # run_readme WORDS OUTFILE
  local line; line=$(readme_line "$1")
  [ -n "$line" ] || { echo "README has no line 'build/voxcart $1'"; return 1; }
  (cd "$SRC" && eval "$line") >"$2" 2>&1
}
run_readme "sign --dir .demo/ca --restamp --url https://127.0.0.1:8443/alexa scripts/demo/order.json" "$T/order.out"
check "the README's sample order is answered with the summary" grep -q 'Shall I place the order' "$T/order.out"
check "for two large lattes" grep -q '2 large lattes' "$T/order.out"
run_readme "sign --dir .demo/ca --restamp --url https://127.0.0.1:8443/alexa scripts/demo/yes.json" "$T/yes.out"
check "the README's yes is charged to the saved agreement" grep -q "charged 9 euros" "$T/yes.out"
run_readme "replay -v" "$T/replay.out"
rc=$?
check "the README's replay passes against the demo" [ "$rc" = 0 ]
check "every conversation passed" grep -qE '^[0-9]+ passed, 0 failed' "$T/replay.out"
check "replay -v shows what the skill said" grep -qE '^ +said: Welcome to Corner Coffee' "$T/replay.out"
# a conversation that ends its session and pays nothing: replay -v marks the end
(cd "$SRC" && "$BUILD/voxcart" replay -v --dir "$D/ca" --url "https://127.0.0.1:$port/alexa" \
  --redis "redis://127.0.0.1:$rport/0" --skill-id amzn1.ask.skill.voxcart-demo \
  tests/fixtures/ordering/*stop-and-come-back*) >"$T/replay-end.out" 2>&1
check "and when the session ends" grep -qE '^ +\(the session ends\)' "$T/replay-end.out"

# /metrics: the scrape is not in flight; a 404 is counted but not in the POST /alexa histogram
m() { curl -s --cacert "$D/ca/root.pem" "https://127.0.0.1:$port/metrics"; }
metric() { m | sed -n "s/^$1 //p"; }
check "a scrape does not count itself in flight" [ "$(metric voxcart_requests_in_flight)" = 0 ]
before=$(metric voxcart_request_duration_seconds_count)
nf=$(metric 'voxcart_requests_total{outcome="not_found"}')
curl -s -o /dev/null --cacert "$D/ca/root.pem" "https://127.0.0.1:$port/nowhere"
check "a 404 is counted by outcome" [ "$(metric 'voxcart_requests_total{outcome="not_found"}')" = $((nf + 1)) ]
check "but not in the POST /alexa duration histogram" \
  [ "$(metric voxcart_request_duration_seconds_count)" = "$before" ]

# what people read
check "the certificate log line gives ISO 8601 times" \
  grep -qE "verified, valid from [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z to [0-9]{4}-" "$D/voxcartd.log"
out=$("$VOXCARTD" --bogus 2>&1)
check "voxcartd names itself, not its path" contains "$out" "voxcartd: unknown option '--bogus'"
check "... nowhere" bash -c "! grep -qF '$BUILD' <<<\"\$1\"" _ "$out"
out=$("$VOXCART" sign --help)
check "sign --help examples post to /alexa" bash -c "! grep -E 'https://[^ ]*8443/( |$)' <<<\"\$1\"" _ "$out"
check "... with the path" contains "$out" 'https://localhost:8443/alexa launch.json'
VX_DEMO_DIR="$D" bash "$SRC/scripts/demo.sh" stop >/dev/null
finish
