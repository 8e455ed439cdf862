#!/usr/bin/env bash
# End to end: the recurring biller on two voxcartd instances against one store (a single Redis,
# or the cluster with VX_STORE=cluster) and the payment sandbox. The merchant API subscribes 500
# customers to a weekly plan, due today; the sandbox's clock and voxcartd's (VOXCART_CLOCK_FILE)
# move over three cycles:
#   cycle 1: both billers, nothing in the way;
#   cycle 2: one biller is killed with SIGKILL in the middle, then started again;
#   cycle 3: the sandbox drops 10% of Create Charge answers after charging and answers 503 to
#            10% of requests, and (single Redis) Redis is killed and restarted from its AOF in
#            the middle.
# "Exactly once" is counted at the sandbox's own ledger: every subscription has exactly one
# captured charge per cycle (by its merchantReferenceId, the cycle's order <sub>-<cycle>), none
# is missing, none is declined, and nothing more is charged after the last cycle.
# Then the pacing: charges per second over both instances never above the shared rate + burst.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"
. "$SRC/tests/e2e/biller.inc.sh"

N=${VX_BILLER_SUBS:-500}
SKILL=amzn1.ask.skill.test
RATE=120

make_devca
if [ "${VX_STORE:-single}" = cluster ]; then
  start_cluster
else # with its AOF, every write fsynced: a restart loses nothing
  REDIS_PORT=$(free_port)
  REDIS_ARGS=(--port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly yes
    --appendfsync always --dir "$T" --logfile "$T/redis.log")
  redis-server "${REDIS_ARGS[@]}" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  wait_for 10 redis-cli -p "$REDIS_PORT" ping || { echo "redis did not start"; exit 1; }
  export VOXCART_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi
start_pay_sandbox
# the sandbox throttles Create Charge at the billers' shared pace: a burst above it would be
# answered 429 (and counted below)
sim POST throttle "{\"enabled\":true,\"sandbox\":{\"createCharge\":{\"burst\":$RATE,\"perSecond\":$RATE}}}"
check "the sandbox throttles Create Charge at $RATE/s" [ "$STATUS" = 200 ]

# --- N Recurring charge permissions at the sandbox, and N weekly subscriptions due today ---
permissions "$N" card-ok "$T/perm-ids"
check "the sandbox made $N permissions" [ "$(grep -c '^[A-Z][0-9-]*$' "$T/perm-ids")" = "$N" ]


# --- two instances with billers; their clock follows a file (development mode) ---
biller_env
start_voxcartd
A_PID=$VX_PID A_BASE=$BASE
start_voxcartd
B_PID=$VX_PID B_BASE=$BASE
# the merchant subscribes the N customers through instance A's merchant API; the billers bill
# them as they come
BASE=$A_BASE api_subs "$T/perm-ids" B weekly_beans 450 "$T/sub-ids"
check "the merchant API made $N subscriptions" \
  [ "$(grep -c '^sub_[a-z0-9]\{12\}$' "$T/sub-ids")" = "$N" ]

# exactly_once CYCLES: every subscription has one captured charge per cycle 1..CYCLES, by its
# cycle's order ID; none is missing, none twice, none declined
exactly_once() {
  sim GET "charges?merchantId=$MERCHANT"
  jq -e --argjson n "$N" --argjson c "$1" --rawfile ids "$T/sub-ids" '
    [.charges[] | select(.statusDetails.state == "Captured") | .merchantMetadata.merchantReferenceId] as $refs
    | ($refs | length) == ($n * $c)
      and ($refs | unique | length) == ($n * $c)
      and ([$ids | split("\n")[] | select(length > 0) as $id | range(1; $c + 1) as $k | "\($id)-\($k)"] | sort) == ($refs | sort)
      and ([.charges[] | select(.statusDetails.state == "Declined")] | length) == 0' \
    <<<"$BODY" >/dev/null
}

# cycle 1 (what the billers did not bill while the subscriptions were being made)
check "cycle 1: $N charges captured" wait_captured "$N" 120
sleep 1
check "cycle 1: every subscription charged exactly once, none missed" exactly_once 1
# claimed_by BASE: how many cycles that instance's biller claimed (its /metrics)
claimed_by() {
  curl -s --cacert "$CA/root.pem" "$1/metrics" | sed -n 's/^voxcart_biller_claimed_total //p'
}
ca1=$(claimed_by "$A_BASE") cb1=$(claimed_by "$B_BASE")

# cycle 2: one biller killed in the middle
advance 7
check "cycle 2: charging has begun" wait_captured $((N + N / 4)) 120
ca=$(claimed_by "$A_BASE") cb=$(claimed_by "$B_BASE")
check "cycle 2: both instances bill it (A claimed $((ca - ca1)), B $((cb - cb1)))" \
  all_of [ "$ca" -gt "$ca1" ] -- [ "$cb" -gt "$cb1" ]
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null
start_voxcartd
A_PID=$VX_PID
check "cycle 2: $((2 * N)) charges after SIGKILL and restart" wait_captured $((2 * N)) 120
sleep 2
check "cycle 2: every cycle exactly once" exactly_once 2

# cycle 3: lost answers, 503s and (single Redis) a restart from the AOF
sim POST faults '{"operation":"createCharge","kind":"drop","percent":10}'
sim POST faults '{"operation":"*","kind":"status","status":503,"percent":10}'
check "the sandbox drops 10% of answers and answers 503 to 10%" [ "$STATUS" = 200 ]
advance 7
check "cycle 3: charging has begun" wait_captured $((2 * N + N / 4)) 120
if [ "${VX_STORE:-single}" != cluster ]; then
  kill -KILL "$REDIS_PID"
  wait "$REDIS_PID" 2>/dev/null
  sleep 0.5
  redis-server "${REDIS_ARGS[@]}" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  check "Redis came back from its AOF" wait_for 20 redis-cli -p "$REDIS_PORT" ping
fi
check "cycle 3: $((3 * N)) charges" wait_captured $((3 * N)) 180
sim GET faults
drops=$(jq '.faults[0].applied' <<<"$BODY") n503=$(jq '.faults[1].applied' <<<"$BODY")
sim DELETE faults
check "answers were dropped after charging ($drops) and 503s answered ($n503)" all_of \
  [ "$drops" -ge $((N / 20)) ] -- [ "$n503" -ge $((N / 20)) ]
sleep 3
check "cycle 3: every cycle exactly once, none missed, after drops, 503s and restarts" exactly_once 3
sim GET notifications
sim GET "charges?merchantId=$MERCHANT"
check "nothing more was charged after the last cycle" [ "$(captured)" = $((3 * N)) ]

# voxcart's own view agrees: every subscription at cycle 4 with 3 paid
paid3=0
for i in 0 1 2 $((N / 2)) $((N - 1)); do
  id=$(sed -n "$((i + 1))p" "$T/sub-ids") user=$(printf 'amzn1.ask.account.B%05d' "$i")
  [ "$(rcli HGET "vx:{$SKILL:$user}:sub:$id" cycles_paid)" = 3 ] && paid3=$((paid3 + 1))
done
check "the subscriptions record 3 cycles paid" [ "$paid3" = 5 ]
order="vx:{$SKILL:amzn1.ask.account.B00003}:ledger:$(sed -n 4p "$T/sub-ids")-2"
check "a cycle's order has its ledger (CHARGE_PENDING, then PAID)" \
  bash -c "rcli() { redis-cli -c -p $REDIS_PORT \"\$@\"; }; rcli LRANGE '$order' 0 -1 | jq -r .to | paste -sd, - | grep -q 'CHARGE_PENDING.*PAID'"

# the pacing: per second of the sandbox's creation times, never more than rate + burst
sim GET "charges?merchantId=$MERCHANT"
peak=$(jq '[.charges[].creationTimestamp] | group_by(.) | map(length) | max' <<<"$BODY")
check "charges per second stayed within the shared pace (peak $peak, rate+burst $((2 * RATE)))" \
  [ "$peak" -le $((2 * RATE)) ]
curl -s --cacert "$CA/root.pem" "$B_BASE/metrics" >"$T/metrics"
check "/metrics shows the biller's counters" grep -q '^voxcart_biller_charged_total [1-9]' "$T/metrics"

kill -TERM "$A_PID" 2>/dev/null
wait "$A_PID" 2>/dev/null
VX_PID=$B_PID
finish
