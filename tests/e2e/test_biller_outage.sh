#!/usr/bin/env bash
# End to end: the recurring biller through a provider outage. 60 subscriptions are due while
# the sandbox answers every request 503; the biller writes each cycle's attempt once and keeps
# sending that same attempt (same key) without a second one; when the sandbox is back it
# catches up at the shared pace (5 charges per second, burst 5), never faster, and the
# sandbox's ledger holds exactly one captured charge per subscription.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"
. "$SRC/tests/e2e/biller.inc.sh"
SKILL=amzn1.ask.skill.test
N=60 RATE=5

make_devca
start_redis
start_pay_sandbox
permissions "$N" card-ok "$T/perms"
seed_subs "$T/perms" sub_o O weekly_beans 450 week
sim POST faults '{"operation":"*","kind":"status","status":503,"percent":100}'
check "the sandbox is down (503 to everything)" [ "$STATUS" = 200 ]

biller_env
start_voxcartd
sleep 5
sim GET faults
refused=$(jq '.faults[0].applied' <<<"$BODY")
check "the billers tried through the outage ($refused refused)" [ "$refused" -ge 10 ]
check "nothing was charged during the outage" [ "$(captured)" = 0 ]
sim DELETE faults
check "after the outage: $N charges" wait_captured "$N" 60
sleep 2
check "exactly $N, one per subscription" [ "$(captured)" = "$N" ]
sim GET "charges?merchantId=$MERCHANT"
check "each subscription's cycle charged once" \
  [ "$(jq '[.charges[].merchantMetadata.merchantReferenceId] | unique | length' <<<"$BODY")" = "$N" ]
peak=$(jq '[.charges[].creationTimestamp] | group_by(.) | map(length) | max' <<<"$BODY")
check "the catch-up kept the pace (at most $((2 * RATE)) in any second, saw $peak)" [ "$peak" -le $((2 * RATE)) ]
secs=$(jq '[.charges[].creationTimestamp] | unique | length' <<<"$BODY")
check "the catch-up was spread over the seconds the pace needs ($secs >= $(((N - RATE) / RATE)))" \
  [ "$secs" -ge $(((N - RATE) / RATE)) ]
attempts=0
for i in 0 7 33 59; do
  id=sub_o$(printf '%011d' "$i") user=$(printf 'amzn1.ask.account.O%05d' "$i")
  n=$(rcli LRANGE "vx:{$SKILL:$user}:ledger:$id" 0 -1 | jq -r 'select(.event == "attempt") | .ref' | sort -u | wc -l)
  [ "$n" = 1 ] && attempts=$((attempts + 1))
done
check "one attempt (one key) per cycle, however often it was sent" [ "$attempts" = 4 ]
finish
