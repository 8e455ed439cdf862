# Helpers of the recurring biller's tests (test_biller_*.sh), on top of lib.sh, paysim/lib.sh
# and pay.inc.sh: subscriptions written into the store as the merchant API writes them, the
# sandbox's ledger, and one clock for the sandbox and every voxcartd.

# seed_subs PERMFILE IDPREFIX USERPREFIX PLAN AMOUNT UNIT: one subscription per charge
# permission of PERMFILE (one ID a line), due today; subscription i is IDPREFIX + i (16
# characters in all), its customer amzn1.ask.account.USERPREFIX + i (5 digits). Written by
# redis-cli --pipe (a single Redis, not the cluster), so that a hundred thousand (the biller's
# benchmark) take seconds; 1 when Redis refused a command.
seed_subs() {
  local today
  today=$(date -u -d "@$(( $(date -u +%s) + ${OFFSET:-0} ))" +%Y-%m-%d)
  python3 - "$@" "$SKILL" "$today" >"$T/seed.redis" <<'PY'
import json, sys, datetime
permfile, idp, userp, plan, amount, unit, skill, today = sys.argv[1:9]
perms = [l.strip() for l in open(permfile) if l.strip()]
due = int(datetime.datetime.strptime(today, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc).timestamp())
out = sys.stdout.buffer
def cmd(*args):  # one command in RESP, as redis-cli --pipe sends it
    b = [a.encode() for a in args]
    out.write(b"*%d\r\n" % len(b) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in b))
for i, perm in enumerate(perms):
    sid = idp + ("%d" % i).rjust(16 - len(idp), "0")
    user = "amzn1.ask.account.%s%05d" % (userp, i)
    h = 5381  # vx_sub_bucket_key
    for c in sid.encode():
        h = (h * 33 + c) & 0xffffffff
    bucket = "vx:{bill:%d}:due" % (h % 16)
    tag = "{%s:%s}" % (skill, user)
    doc = {"object": "subscription", "id": sid, "merchant": "demo", "shop_id": "corner_coffee",
           "plan_id": plan, "skill": skill, "user": user,
           "charge_permission_id": perm, "environment": "sandbox",
           "interval": {"unit": unit, "count": 1}, "amount": int(amount), "currency": "EUR",
           "time_zone": "UTC", "bill_hour": 0, "anchor": today, "status": "active",
           "cycle": 1, "due": due, "attempt": 0, "soft_declines": 0, "attempt_key": None,
           "charge_id": None, "wait": "none", "fence": 0, "cycles_paid": 0,
           "created_at": due}
    cmd("ZADD", bucket, str(due), "%s\t%s\t%s" % (skill, user, sid))
    cmd("HSET", "vx:%s:sub:%s" % (tag, sid),
        *[x for k, v in doc.items() for x in (k, json.dumps(v, separators=(",", ":")))])
    cmd("LPUSH", "vx:%s:subs" % tag, sid)
PY
  redis-cli -p "$REDIS_PORT" --pipe <"$T/seed.redis" >"$T/seed.out" 2>&1 &&
    grep -q '^errors: 0, replies:' "$T/seed.out"
}

# permissions COUNT INSTRUMENT FILE [LIMIT]: COUNT Recurring charge permissions at the sandbox
# paying with INSTRUMENT (monthly limit LIMIT EUR, default 1000.00), their IDs into FILE
permissions() {
  local i
  : >"$3"
  for i in $(seq 1 "$1"); do
    sim POST chargePermissions "{\"merchantId\":\"$MERCHANT\",\"chargePermissionType\":\"Recurring\",\"buyerId\":\"buyer-alice\",\"instrument\":\"$2\",\"frequency\":{\"unit\":\"Week\",\"value\":\"1\"},\"limit\":{\"amount\":\"${4:-1000.00}\",\"currencyCode\":\"EUR\"}}"
    jq -r .chargePermissionId <<<"$BODY" >>"$3"
  done
}

# biller_env: what every voxcartd of a biller test runs with: development mode, a clock that
# follows $T/clock, passes every 200 ms, short leases and waits, the sandbox's pace
biller_env() {
  echo "${OFFSET:-0}" >"$T/clock"
  [ -f "$T/jwt.secret" ] || head -c 48 /dev/urandom | base64 >"$T/jwt.secret"
  export VOXCART_JWT_KEY="$T/jwt.secret"
  export VOXCART_DEVELOPMENT=true VOXCART_CLOCK_FILE="$T/clock" VOXCART_JANITOR_INTERVAL_MS=0
  export VOXCART_BILLER_INTERVAL_MS=200 VOXCART_BILLER_LEASE_MS=2000 VOXCART_BILLER_SETTLE_S=1
  export VOXCART_BILLER_RATE=${RATE:-50} VOXCART_BILLER_BURST=${RATE:-50}
  export VOXCART_PROVIDER_BACKOFF_MS=50 VOXCART_BILLER_PERMISSION_CHECK=5s
}

# api_subs PERMFILE USERPREFIX PLAN AMOUNT OUT: through the merchant API of $BASE, as the demo
# merchant: a weekly plan PLAN of AMOUNT EUR minor units in the shop corner_coffee, then one
# subscription to it per permission of PERMFILE (one ID a line), starting today, for the
# customer amzn1.ask.account.USERPREFIX<i, 5 digits>; their IDs into OUT, in PERMFILE's order
api_subs() {
  local tok i=0 perm body id
  tok=$("$VOXCART" token --key "$T/jwt.secret" --merchant demo)
  curl -s --cacert "$CA/root.pem" -X POST -H "Authorization: Bearer $tok" \
    -H 'content-type: application/json' --data-binary \
    "{\"id\":\"$3\",\"name\":{\"en\":\"$3\"},\"interval\":{\"unit\":\"week\",\"count\":1},\"amount\":$4,\"currency\":\"EUR\"}" \
    "$BASE/v1/shops/corner_coffee/plans" >/dev/null
  : >"$5"
  while read -r perm; do
    body=$(printf '{"plan_id":"%s","customer":{"skill_id":"%s","user_id":"amzn1.ask.account.%s%05d"},"charge_permission_id":"%s"}' \
      "$3" "$SKILL" "$2" "$i" "$perm")
    id=$(curl -s --cacert "$CA/root.pem" -X POST -H "Authorization: Bearer $tok" \
      -H 'content-type: application/json' -H "Idempotency-Key: sub-$2-$i" --data-binary "$body" \
      "$BASE/v1/shops/corner_coffee/subscriptions" | jq -r .id)
    echo "$id" >>"$5"
    i=$((i + 1))
  done <"$1"
}

# captured: how many captured charges the sandbox's ledger holds for the merchant
captured() {
  sim GET "charges?merchantId=$MERCHANT"
  jq '[.charges[] | select(.statusDetails.state == "Captured")] | length' <<<"$BODY"
}
# wait_captured COUNT SECONDS: until the sandbox holds COUNT captured charges
wait_captured() {
  local n=$(($2 * 4))
  for _ in $(seq 1 "$n"); do
    [ "$(captured)" -ge "$1" ] && return 0
    sleep 0.25
  done
  return 1
}
# advance DAYS: the sandbox's clock and both voxcartd's move on by DAYS
OFFSET=0
advance() {
  sim POST clock "{\"advanceDays\":$1}"
  OFFSET=$((OFFSET + $1 * 86400))
  echo "$OFFSET" >"$T/clock"
}
