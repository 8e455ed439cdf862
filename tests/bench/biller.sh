#!/usr/bin/env bash
# The recurring biller's figure (make bench-biller, and the last part of make bench): SUBS
# subscriptions (default 100000) due at once, each paying with its own Recurring charge
# permission at voxcart-paysim (throttling off), and voxcartd with the biller on charging the
# cycle. With one instance, then with two against the same Redis and sandbox. It measures
#   - Redis memory per subscription: INFO used_memory before and after the subscriptions are
#     written (as biller.inc.sh's seed_subs writes them), over SUBS;
#   - cycles charged per second, from the first capture to the last at the sandbox's ledger;
# and checks that every subscription was charged exactly once (the ledger's captured charges
# by merchantReferenceId, the cycle's order <sub>-1, and by charge permission), none declined,
# none missed, and that voxcartd's /metrics counted as many. A measurement, not a test: not
# timed and not part of make test, but a wrong ledger is a failure (exit status 1).
#
#   tests/bench/biller.sh [BUILD_DIR (default build-bench)]
# Environment: SUBS (default 100000), INSTANCES (the runs, default "1 2"), TIMEOUT (seconds a
# run may take to charge them all, default 1200), INTERVAL_MS (biller.interval_ms, default
# 5000, voxcartd's own default).
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/e2e/lib.sh" "${1:-build-bench}"
. "$SRC/tests/paysim/lib.sh"
. "$SRC/tests/e2e/pay.inc.sh"
. "$SRC/tests/e2e/biller.inc.sh"
SUBS=${SUBS:-100000}
INSTANCES=${INSTANCES:-1 2}
TIMEOUT=${TIMEOUT:-1200}
PREFIX=sub_bench
# biller.rate has no "off": its highest value, far above what one machine charges, is
RATE=10000
VX_PLAIN=1 # /metrics is all the bench asks voxcartd, on loopback

say() { printf '%s\n' "$*" >&2; }
used_memory() { redis-cli -p "$REDIS_PORT" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
cpu_ticks() { # PID: user + system CPU time so far, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
# metric NAME: its sum over the instances' /metrics
metric() {
  local b n sum=0
  for b in "${BASES[@]}"; do
    n=$(curl -s "$b/metrics" | sed -n "s/^$1 \([0-9]*\)$/\1/p")
    sum=$((sum + ${n:-0}))
  done
  echo "$sum"
}

# run K: a fresh Redis and sandbox, SUBS subscriptions, K voxcartd with billers; appends one
# result line to $T/results; 1 when the ledger is wrong or the cycle was not charged in time
run() {
  local k=$1 i m0 m1 m2 t0 t1 charged=0 last=0 quiet=0 line
  local -a pids=() cpu0=() cpu1=()
  BASES=()
  start_redis
  start_pay_sandbox
  # the permissions, in set-up requests of at most 50,000 (the sandbox takes 200,000)
  : >"$T/perms"
  for ((i = 0; i < SUBS; i += 50000)); do
    sim POST chargePermissions/bulk "{\"merchantId\":\"$MERCHANT\",\"count\":$((SUBS - i < 50000 ? SUBS - i : 50000)),\"instrument\":\"card-ok\",\"frequency\":{\"unit\":\"Week\",\"value\":\"1\"}}"
    [ "$STATUS" = 201 ] || { say "bench: the sandbox made no permissions: $STATUS $BODY"; return 1; }
    jq -r '.chargePermissionIds[]' <<<"$BODY" >>"$T/perms"
  done
  [ "$(sort -u "$T/perms" | wc -l)" = "$SUBS" ] || { say "bench: not $SUBS distinct permissions"; return 1; }

  m0=$(used_memory)
  seed_subs "$T/perms" "$PREFIX" B weekly_beans 450 week ||
    { say "bench: Redis refused the subscriptions:"; tail -n 3 "$T/seed.out" >&2; return 1; }
  m1=$(used_memory)
  n=0
  for ((i = 0; i < 16; i++)); do n=$((n + $(redis-cli -p "$REDIS_PORT" zcard "vx:{bill:$i}:due"))); done
  [ "$n" = "$SUBS" ] || { say "bench: $n subscriptions in the schedule, not $SUBS"; return 1; }
  say "  $SUBS subscriptions due; Redis used_memory $m0 -> $m1 bytes"

  biller_env
  export VOXCART_BILLER_RATE=$RATE VOXCART_BILLER_BURST=$RATE
  export VOXCART_BILLER_INTERVAL_MS=${INTERVAL_MS:-5000} VOXCART_BILLER_LEASE_MS=30000
  export VOXCART_BILLER_SETTLE_S=60
  t0=$(date +%s.%N)
  for ((i = 0; i < k; i++)); do
    start_voxcartd
    pids+=("$VX_PID")
    BASES+=("$BASE")
  done
  for p in "$REDIS_PID" "$PS_PID" "${pids[@]}"; do cpu0+=("$(cpu_ticks "$p")"); done
  # until the instances counted every cycle paid; progress every 10 s
  while [ "$charged" -lt "$SUBS" ]; do
    sleep 0.2
    charged=$(metric voxcart_biller_charged_total)
    if [ "$(date +%s)" -ge $((${t0%.*} + TIMEOUT)) ]; then
      say "bench: FAILED: $charged of $SUBS cycles charged after ${TIMEOUT}s"
      return 1
    fi
    quiet=$((quiet + 1))
    [ "$quiet" -ge 50 ] && { say "  ... $charged charged"; quiet=0; }
  done
  t1=$(date +%s.%N)
  for p in "$REDIS_PID" "$PS_PID" "${pids[@]}"; do cpu1+=("$(cpu_ticks "$p")"); done
  sleep 2 # anything charged twice would be by now
  m2=$(used_memory)

  # the sandbox's own ledger (some 70 MB for 100,000 charges: into a file, not a variable)
  STATUS=$(curl -sS -o "$T/charges.json" -w '%{http_code}' "$PS_URL/_sim/charges?merchantId=$MERCHANT")
  [ "$STATUS" = 200 ] || { say "bench: the sandbox's ledger: $STATUS"; return 1; }
  line=$(python3 - "$T/charges.json" "$T/perms" "$PREFIX" "$SUBS" <<'PY'
import json, sys, collections, datetime
charges = json.load(open(sys.argv[1]))["charges"]
perms = [l.strip() for l in open(sys.argv[2]) if l.strip()]
idp, n = sys.argv[3], int(sys.argv[4])
want = {idp + ("%d" % i).rjust(16 - len(idp), "0") + "-1" for i in range(n)}
cap = [c for c in charges if c["statusDetails"]["state"] == "Captured"]
refs = collections.Counter(c["merchantMetadata"]["merchantReferenceId"] for c in cap)
byperm = collections.Counter(c["chargePermissionId"] for c in cap)
other = len(charges) - len(cap)
missing = len(want - set(refs))
twice = sum(1 for v in refs.values() if v > 1) + sum(1 for v in byperm.values() if v > 1)
unknown = len(set(refs) - want) + len(set(byperm) - set(perms))
ts = sorted(int(datetime.datetime.strptime(c["creationTimestamp"], "%Y%m%dT%H%M%SZ")
                .replace(tzinfo=datetime.timezone.utc).timestamp()) for c in cap)
span = ts[-1] - ts[0] if ts else 0
peak = max(collections.Counter(ts).values()) if ts else 0
ok = len(cap) == n and missing == 0 and twice == 0 and unknown == 0 and other == 0
print("ok=%d captured=%d other=%d missing=%d twice=%d unknown=%d span=%d peak=%d"
      % (ok, len(cap), other, missing, twice, unknown, span, peak))
PY
  )
  say "  ledger: $line"
  local claimed errors
  claimed=$(metric voxcart_biller_claimed_total) errors=$(metric voxcart_biller_errors_total)
  charged=$(metric voxcart_biller_charged_total)
  echo "$k $line subs=$SUBS m0=$m0 m1=$m1 m2=$m2 t0=$t0 t1=$t1 claimed=$claimed charged=$charged errors=$errors cpu0=$(
    IFS=,
    echo "${cpu0[*]}"
  ) cpu1=$(
    IFS=,
    echo "${cpu1[*]}"
  )" >>"$T/results"
  for p in "${pids[@]}"; do stop_pid "$p"; done
  stop_pid "$PS_PID"
  stop_redis
  case "$line" in ok=1*) [ "$claimed" = "$SUBS" ] && [ "$charged" = "$SUBS" ] ;; *) false ;; esac
}
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

make_devca
say "biller bench: $SUBS subscriptions due, runs with $INSTANCES instance(s), $(nproc) cores"
: >"$T/results"
failed=0
for k in $INSTANCES; do
  say "$k instance(s):"
  run "$k" || { say "bench: FAILED with $k instance(s): see above"; failed=1; }
done

awk -v hz="$(getconf CLK_TCK)" '
function val(s, k,   m) { m = s; sub(".*[ ]" k "=", "", m); sub(" .*", "", m); return m }
{
  k = $1; n = val($0, "subs"); span = val($0, "span"); wall = val($0, "t1") - val($0, "t0")
  if (!shown++) {
    printf "\nrecurring biller (%d subscriptions due, Create Charge at voxcart-paysim, throttling off, biller.rate %d):\n", n, 10000
    m = val($0, "m1") - val($0, "m0")
    printf "Redis memory per subscription: %.0f bytes (used_memory %d -> %d; document hash, customer list, bucket member)\n", m / n, val($0, "m0"), val($0, "m1")
    printf "\n%-10s %12s %10s %10s %10s %10s %14s  %s\n", "instances", "cycles/s", "span s", "wall s", "peak/s", "errors", "after, B/sub", "CPU s (redis, sandbox, voxcartd...)"
  }
  split(val($0, "cpu0"), c0, ","); ncpu = split(val($0, "cpu1"), c1, ",")
  cpu = ""
  for (i = 1; i <= ncpu; i++) cpu = cpu sprintf("%s%.1f", i > 1 ? ", " : "", (c1[i] - c0[i]) / hz)
  printf "%-10d %12.0f %10d %10.1f %10d %10d %14.0f  %s\n", k, (span > 0 ? (val($0, "captured") - 1) / span : 0), span, wall, val($0, "peak"), val($0, "errors"), (val($0, "m2") - val($0, "m0")) / n, cpu
  printf "%-10s %s\n", "", (val($0, "ok") == 1 && val($0, "charged") == n ? "every subscription charged exactly once, none missed, none declined; /metrics agrees" : "LEDGER MISMATCH: " $0)
}
END {
  print "\n(cycles/s: captures from the first to the last, by the sandbox ledger'"'"'s creation seconds; wall: from the"
  print " instances'"'"' start to /metrics counting the last; after: used_memory once charged, orders, ledgers and events included)"
}' "$T/results"
[ "$failed" = 0 ]
