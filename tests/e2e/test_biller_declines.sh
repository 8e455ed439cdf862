#!/usr/bin/env bash
# End to end: what the recurring biller does with each outcome of a cycle's charge, against the
# sandbox, with the sandbox's clock and voxcartd's moved together (the run starts on the 2nd of
# next month, so every date below is the same whatever day it runs):
#   soft:     a soft-declined cycle is retried on the schedule (1 h, then 1 d) with a new key
#             each time, and paid once the buyer's method works again;
#   hard:     a hard-declined cycle waits (past due) while the permission is not chargeable,
#             reading it every biller.permission_check, and is paid once it is fixed;
#   periodic: a cycle above the permission's monthly limit (1000.00 EUR at the sandbox, as the
#             provider's) waits for the next calendar month;
#   pending:  a charge left pending is settled by reading it, not by charging again;
#   retries:  a cycle declined on every retry goes past due, then is canceled.
# Every count is the sandbox's own ledger.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"
. "$SRC/tests/e2e/biller.inc.sh"
SKILL=amzn1.ask.skill.test

make_devca
start_redis
start_pay_sandbox

# the 2nd of next month at this time of day, for the sandbox and for voxcartd
now=$(date -u +%s)
start=$(date -u -d "$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%Y-%m-02) $(date -u +%H:%M:%S)" +%s)
advance_s() {
  sim POST clock "{\"advanceSeconds\":$1}"
  OFFSET=$((OFFSET + $1))
  echo "$OFFSET" >"$T/clock"
}
advance_s $((start - now))
check "both clocks stand on the 2nd of a month" [ "$(date -u -d "@$(($(date -u +%s) + OFFSET))" +%d)" = 02 ]

permissions 1 card-soft-decline "$T/soft"
permissions 1 card-hard-decline "$T/hard"
permissions 1 card-ok "$T/periodic"
permissions 1 card-pending-ok "$T/pending"
permissions 1 card-soft-decline "$T/doomed"
seed_subs "$T/soft" sub_soft S weekly_beans 450 week
seed_subs "$T/hard" sub_hard H weekly_beans 450 week
seed_subs "$T/periodic" sub_peri P weekly_machine 60000 week # 600.00: twice is above 1000.00 a month
seed_subs "$T/pending" sub_pend N weekly_beans 450 week
SOFT=$(cat "$T/soft") HARD=$(cat "$T/hard") PERI=$(cat "$T/periodic") PEND=$(cat "$T/pending")

# sub PREFIX USERPREFIX FIELD: a member of the first subscription of a seed_subs call
sub() {
  local id="$1" pad=$((16 - ${#1}))
  id=$1$(printf "%0${pad}d" 0)
  rcli HGET "vx:{$SKILL:amzn1.ask.account.${2}00000}:sub:$id" "$3"
}
# charges_of PERMISSION STATE: how many charges of that state the sandbox holds for it
charges_of() {
  sim GET "charges?chargePermissionId=$1&state=$2"
  jq '.charges | length' <<<"$BODY"
}
until_charges() { # until_charges SECONDS PERMISSION STATE COUNT
  local n=$(($1 * 4))
  for _ in $(seq 1 "$n"); do
    [ "$(charges_of "$2" "$3")" -ge "$4" ] && return 0
    sleep 0.25
  done
  return 1
}

biller_env
export VOXCART_BILLER_RETRY_SCHEDULE=1h,1d VOXCART_BILLER_PAST_DUE_FOR=2d
start_voxcartd

# --- cycle 1 ---
check "soft: cycle 1 declined at the sandbox" until_charges 20 "$SOFT" Declined 1
check "hard: cycle 1 declined at the sandbox" until_charges 20 "$HARD" Declined 1
check "periodic: cycle 1 paid" until_charges 20 "$PERI" Captured 1
check "pending: cycle 1 charged, left pending" until_charges 20 "$PEND" AuthorizationInitiated 1
sleep 1
check "soft: waiting for its retry" [ "$(sub sub_soft S wait)" = '"retry"' ]
due=$(sub sub_soft S due) since=$(sub sub_soft S wait_since)
check "soft: the retry is due 1 h after the decline" [ $((due - since)) = 3600 ]
check "soft: still active while retrying" [ "$(sub sub_soft S status)" = '"active"' ]
check "hard: past due, waiting for the permission" \
  [ "$(sub sub_hard H status)$(sub sub_hard H wait)" = '"past_due""permission"' ]
sim GET "chargePermissions"
check "hard: the sandbox made the permission not chargeable" \
  [ "$(jq -r --arg p "$HARD" '.chargePermissions[] | select(.chargePermissionId == $p) | .statusDetails.state' <<<"$BODY")" = NonChargeable ]
sleep 6 # more than one biller.permission_check
check "hard: not charged again while the permission is not chargeable" [ "$(charges_of "$HARD" Declined)$(charges_of "$HARD" Captured)" = 10 ]

# --- the buyer fixes the hard-declined method ---
sim POST "chargePermissions/$HARD/fix" '{"instrument":"card-ok"}'
check "hard: paid after the permission was fixed" until_charges 20 "$HARD" Captured 1
sleep 0.5
check "hard: active again, at cycle 2" [ "$(sub sub_hard H status)$(sub sub_hard H cycle)" = '"active"2' ]

# --- an hour later: the soft retry (declines again), and the pending charge settles ---
advance_s 3600
check "soft: retried after 1 h, declined again (a second charge, a new key)" until_charges 20 "$SOFT" Declined 2
check "pending: settled by reading the charge: paid" until_charges 20 "$PEND" Captured 1
sleep 1
check "pending: one charge in all at the sandbox" all_of [ "$(charges_of "$PEND" Captured)" = 1 ] -- \
  [ "$(rcli HGET "vx:{$SKILL:amzn1.ask.account.N00000}:sub:sub_pend00000000" cycles_paid)" = 1 ]
due=$(sub sub_soft S due) since=$(sub sub_soft S wait_since)
check "soft: the next retry is due 1 d after" [ $((due - since)) = 86400 ]

# --- the soft-declined buyer's method works again; a day later the retry is paid ---
sim POST "chargePermissions/$SOFT/fix" '{"instrument":"card-ok"}'
advance_s 86400
check "soft: paid on its second retry" until_charges 20 "$SOFT" Captured 1
keys=$(rcli LRANGE "vx:{$SKILL:amzn1.ask.account.S00000}:ledger:sub_soft00000000" 0 -1 |
  jq -r 'select(.event == "attempt") | .ref' | paste -sd, -)
check "soft: three attempts, three keys (<sub>-<cycle>-<attempt>)" \
  [ "$keys" = sub_soft00000000-1-1,sub_soft00000000-1-2,sub_soft00000000-1-3 ]
states=$(rcli LRANGE "vx:{$SKILL:amzn1.ask.account.S00000}:ledger:sub_soft00000000-1" 0 -1 | jq -r .to | paste -sd, -)
check "soft: the cycle's order ledger shows each attempt ($states)" \
  [ "$states" = CHARGE_PENDING,DECLINED,CHARGE_PENDING,DECLINED,CHARGE_PENDING,PAID ]

# --- a week after the start: cycle 2; the periodic one is above its monthly limit ---
advance_s $((6 * 86400 - 3600))
check "periodic: cycle 2 refused above the monthly limit, waiting for the next month" \
  wait_for 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET 'vx:{$SKILL:amzn1.ask.account.P00000}:sub:sub_peri00000000' wait)\" = '\"month\"' ]"
check "periodic: the sandbox charged it once (the refusal is no charge)" [ "$(charges_of "$PERI" Captured)" = 1 ]
check "periodic: the reason is recorded" [ "$(sub sub_peri P reason)" = '"PeriodicAmountExceeded"' ]
due=$(sub sub_peri P due)
check "periodic: due on the 1st of next month" [ "$(date -u -d "@$due" +%d)" = 01 ]
check "soft, hard: cycle 2 paid" all_of until_charges 20 "$SOFT" Captured 2 -- until_charges 20 "$HARD" Captured 2
# on to the 1st of the next month (the month of the 2nd plus one)
first=$(date -u -d "$(date -u -d "@$((now + OFFSET))" +%Y-%m-01) +1 month" +%s)
advance_s $((first + 120 - now - OFFSET))
check "periodic: paid in the next month" until_charges 20 "$PERI" Captured 2

# --- retries run out: past due, then canceled ---
seed_subs "$T/doomed" sub_doom D weekly_beans 450 week
DOOM=$(cat "$T/doomed")
check "retries: declined" until_charges 20 "$DOOM" Declined 1
advance_s 3600
check "retries: declined again after 1 h" until_charges 20 "$DOOM" Declined 2
advance_s 86400
check "retries: declined on the last retry" until_charges 20 "$DOOM" Declined 3
sleep 1
check "retries: past due" [ "$(sub sub_doom D status)$(sub sub_doom D wait)" = '"past_due""grace"' ]
advance_s $((2 * 86400))
sleep 2
check "retries: canceled after biller.past_due_for" [ "$(sub sub_doom D status)" = '"canceled"' ]
check "retries: three attempts in all at the sandbox" [ "$(charges_of "$DOOM" Declined)" = 3 ]
events=$(rcli LRANGE "vx:{$SKILL:amzn1.ask.account.D00000}:ledger:sub_doom00000000" 0 -1 | jq -r .event | paste -sd, -)
check "retries: the subscription's ledger ($events)" \
  [ "$events" = attempt,declined,attempt,declined,attempt,declined,canceled ]

finish
