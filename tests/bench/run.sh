#!/usr/bin/env bash
# make bench: voxcartd against the reference Node skill (../shared/peer), side by
# side, same machine, same run, same signed OrderIntent requests.
#
# Both servers verify the signature (chain primed for the same certificate URL),
# check the timestamp, read and write the conversation in Redis, and answer with
# the order summary. Both listen on plain HTTP on loopback so that the same wrk
# load measures the same work (the reference skill has no TLS of its own).
#
# Then the paying turn, voxcartd alone (the reference skill does not take payments):
# PAY_N customers (default 30000) each have a summary waiting and a chargeable saved
# agreement; for DURATION seconds they say yes, each once, signed, and voxcartd charges each
# in the turn through voxcart-paysim (throttling off). The sandbox's own ledger must then
# hold one captured charge per answered yes (and at most CONNS more: those in flight when
# the load stopped).
#
# Last, the recurring biller: tests/bench/biller.sh (its own Redis, sandbox and voxcartd; SUBS
# subscriptions due, default 100000), which can also run alone (make bench-biller).
#
# Environment: ROUNDS (default 3), DURATION (seconds per run, default 10),
# CONNS (default 32), USERS (distinct customers in the request pool, default 512),
# PAY_N (default 30000: more than a run answers, since each customer says yes once),
# PEER_DIR (default ../shared/peer), BILLER (default 1; 0 leaves the biller's figure out).
set -euo pipefail
BUILD=$(cd "${1:-build-bench}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEER_SRC=${PEER_DIR:-$ROOT/../shared/peer}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
USERS=${USERS:-512}
PAY_N=${PAY_N:-30000}
T=$(mktemp -d "${TMPDIR:-/tmp}/voxcart-bench.XXXXXX")
CERT_URL=https://s3.amazonaws.com/echo.api/echo-api-cert-bench.pem
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do { wait "$p"; } 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

say() { printf '%s\n' "$*" >&2; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 200); do p=$((20000 + RANDOM % 40000)); port_free "$p" && { echo "$p"; return; }; done
  return 1
}
wait_http() { # url
  for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
  say "bench: $1 did not come up"; return 1
}

# --- the reference skill, installed in a private copy (shared/ is read-only) ---
[ -f "$PEER_SRC/skill.js" ] || { say "bench: reference skill not found in $PEER_SRC"; exit 1; }
PEER="$BUILD/peer"
mkdir -p "$PEER"
cp "$PEER_SRC/skill.js" "$PEER_SRC/package.json" "$PEER_SRC/package-lock.json" "$PEER/"
if [ ! -d "$PEER/node_modules/ask-sdk-express-adapter" ]; then
  say "bench: installing the reference skill's packages"
  (cd "$PEER" && { npm ci --no-audit --no-fund >/dev/null 2>&1 || npm install --no-audit --no-fund >/dev/null; })
fi

# --- certificates, Redis ---
"$BUILD/voxcart" devca --dir "$T/ca" >/dev/null
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
  --logfile "$T/redis.log" &
PIDS+=($!)
for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

# --- the request pool: one OrderIntent (2 medium lattes) per customer ---
# The reference skill reads the product and quantity slots and ignores the size slot;
# voxcartd's sample catalog sells lattes in three sizes and would otherwise ask which.
SKILL_ID=amzn1.ask.skill.voxcart-bench
make_bodies() {
  local ts i
  ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for i in $(seq 1 "$USERS"); do
    cat >"$T/body$i.json" <<JSON
{"version":"1.0","session":{"new":false,"sessionId":"amzn1.echo-api.session.bench-$i","application":{"applicationId":"$SKILL_ID"},"user":{"userId":"amzn1.ask.account.BENCH$i"}},"context":{"System":{"application":{"applicationId":"$SKILL_ID"},"user":{"userId":"amzn1.ask.account.BENCH$i"},"device":{"deviceId":"amzn1.ask.device.BENCH","supportedInterfaces":{}},"apiEndpoint":"https://api.amazonalexa.com"}},"request":{"type":"IntentRequest","requestId":"amzn1.echo-api.request.bench-$i","timestamp":"$ts","locale":"en-US","dialogState":"COMPLETED","intent":{"name":"OrderIntent","confirmationStatus":"NONE","slots":{"product":{"name":"product","value":"latte","confirmationStatus":"NONE","resolutions":{"resolutionsPerAuthority":[{"authority":"amzn1.er-authority.echo-sdk.$SKILL_ID.PRODUCT","status":{"code":"ER_SUCCESS_MATCH"},"values":[{"value":{"name":"latte","id":"latte"}}]}]}},"quantity":{"name":"quantity","value":"2","confirmationStatus":"NONE"},"size":{"name":"size","value":"medium","confirmationStatus":"NONE","resolutions":{"resolutionsPerAuthority":[{"authority":"amzn1.er-authority.echo-sdk.$SKILL_ID.SIZE","status":{"code":"ER_SUCCESS_MATCH"},"values":[{"value":{"name":"medium","id":"medium"}}]}]}}}}}}
JSON
    "$BUILD/voxcart" sign --dir "$T/ca" --cert-url "$CERT_URL" "$T/body$i.json" |
      sed -n 's/^Signature-256: //p' >"$T/sig$i.txt"
  done
}

peak_rss_kb() { # pid...: sum of VmHWM over the processes and their children
  local total=0 p kids
  for p in "$@"; do
    kids=$(pgrep -P "$p" || true)
    for q in $p $kids; do
      v=$(awk '/^VmHWM:/ {print $2}' "/proc/$q/status" 2>/dev/null || echo 0)
      total=$((total + ${v:-0}))
    done
  done
  echo "$total"
}

# run_wrk NAME PORT CONNS SECONDS EXPECT -> appends "NAME rps p50 p99 p999 errors" to $T/results
run_wrk() {
  local name=$1 port=$2 conns=$3 secs=$4 expect=$5 line
  make_bodies
  line=$(VX_BENCH_LIB="$ROOT/tests/bench" VX_BENCH_DIR=$T VX_BENCH_N=$USERS VX_BENCH_CERT_URL=$CERT_URL VX_BENCH_EXPECT=$expect \
    wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s -s "$ROOT/tests/bench/order.lua" \
    "http://127.0.0.1:$port" 2>&1 | grep '^VXBENCH' || true)
  [ -n "$line" ] || { say "bench: wrk gave no result for $name"; line="VXBENCH rps=0 p50=0 p99=0 p999=0 errors=1 wrong=0 requests=0"; }
  say "  $name c=$conns: ${line#VXBENCH }"
  echo "$name $conns $line" >>"$T/results"
}

start_voxcartd() { # another port when the one picked was taken in the meantime
  local attempt
  for attempt in 1 2 3; do
    VX_PORT=$(free_port)
    VOXCART_LISTEN_PORT=$VX_PORT VOXCART_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
    VOXCART_SKILL_IDS=$SKILL_ID VOXCART_CA_FILE="$T/ca/root.pem" \
    VOXCART_CERT_MAP="$CERT_URL=$T/ca/chain.pem" VOXCART_LOG_LEVEL=warn \
      "$BUILD/voxcartd" >"$T/voxcartd.log" 2>&1 &
    VX_PID=$!
    PIDS+=("$VX_PID")
    wait_http "http://127.0.0.1:$VX_PORT/healthz" && return 0
    tail -n 20 "$T/voxcartd.log" >&2
    stop_pid "$VX_PID"
    grep -q 'cannot listen' "$T/voxcartd.log" || return 1
  done
  return 1
}

start_peer() { # workers
  PEER_PORT=$(free_port)
  (cd "$PEER" && PORT=$PEER_PORT REDIS_PORT=$REDIS_PORT CERT_URL=$CERT_URL \
    CHAIN_PEM="$T/ca/chain.pem" WORKERS=$1 exec node skill.js >"$T/peer.log" 2>&1) &
  PEER_PID=$!
  PIDS+=("$PEER_PID")
  for _ in $(seq 1 200); do grep -q listening "$T/peer.log" 2>/dev/null && break; sleep 0.05; done
  sleep 0.5
}

stop_pid() { kill "$1" 2>/dev/null || true; { wait "$1"; } 2>/dev/null || true; }


# --- the paying turn: yes -> Create Charge at the sandbox, each customer once ---
PS_URL=
start_paysim() {
  "$BUILD/voxcart-paysim" --throttle off --port 0 >"$T/paysim.out" 2>"$T/paysim.log" &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    PS_URL=$(sed -n 's|^paysim: listening on \(http://[^ ]*\)$|\1|p' "$T/paysim.out" | head -n 1)
    [ -n "$PS_URL" ] && return 0
    sleep 0.05
  done
  say "bench: voxcart-paysim did not start"; cat "$T/paysim.log" >&2; return 1
}
simpost() { curl -sS -X POST -H 'content-type: application/json' --data-binary "$2" "$PS_URL/_sim/$1"; }
resp() { # RESP encoding of one command, for redis-cli --pipe (lengths in bytes)
  local a LC_ALL=C
  printf '*%d\r\n' $#
  for a in "$@"; do printf '$%d\r\n%s\r\n' "${#a}" "$a"; done
}
bench_pay() {
  local perms=() p i conv tag state n key prof
  start_paysim
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/pay.key" 2>/dev/null
  openssl pkey -in "$T/pay.key" -pubout -out "$T/pay.pub" 2>/dev/null
  simpost merchants "$(jq -n --rawfile p "$T/pay.pub" '{merchantId:"bench", publicKeyId:"SANDBOX-bench", publicKeyPem:$p}')" >/dev/null
  # one agreement per 100 customers keeps every one well inside the monthly limit
  for p in $(seq 0 $((PAY_N / 100))); do
    perms+=("$(simpost chargePermissions '{"merchantId":"bench","chargePermissionType":"Recurring","instrument":"card-ok"}' | jq -r .chargePermissionId)")
  done
  VOXCART_PROVIDER_URL="$PS_URL/sandbox/v2" VOXCART_PROVIDER_KEY_ID=SANDBOX-bench \
    VOXCART_PROVIDER_PRIVATE_KEY="$T/pay.key" VOXCART_JANITOR_INTERVAL_MS=0 start_voxcartd
  # the conversation a summary leaves (one espresso), as voxcartd itself writes it
  cat >"$T/pay0.json" <<JSON
{"version":"1.0","session":{"new":false,"sessionId":"amzn1.echo-api.session.benchpay-0","application":{"applicationId":"$SKILL_ID"},"user":{"userId":"amzn1.ask.account.BENCHPAY0"}},"context":{"System":{"application":{"applicationId":"$SKILL_ID"},"user":{"userId":"amzn1.ask.account.BENCHPAY0"},"device":{"deviceId":"amzn1.ask.device.BENCH","supportedInterfaces":{}},"apiEndpoint":"https://api.amazonalexa.com"}},"request":{"type":"IntentRequest","requestId":"amzn1.echo-api.request.benchpay-0","timestamp":"2026-01-01T00:00:00Z","locale":"en-US","intent":{"name":"OrderIntent","confirmationStatus":"NONE","slots":{"product":{"name":"product","value":"espresso","confirmationStatus":"NONE"},"quantity":{"name":"quantity","value":"1","confirmationStatus":"NONE"}}}}}
JSON
  "$BUILD/voxcart" sign --dir "$T/ca" --cert-url "$CERT_URL" --restamp \
    --url "http://127.0.0.1:$VX_PORT/alexa" "$T/pay0.json" >"$T/pay0.out" 2>&1 || true
  grep -q "Shall I place the order" "$T/pay0.out" || { say "bench: no summary to pay for"; cat "$T/pay0.out" >&2; return 1; }
  conv="vx:{$SKILL_ID:amzn1.ask.account.BENCHPAY0}:conv"
  tag=$(redis-cli -p "$REDIS_PORT" HGET "$conv" v)
  state=$(redis-cli -p "$REDIS_PORT" HGET "$conv" s)
  for i in $(seq 1 "$PAY_N"); do
    key="vx:{$SKILL_ID:amzn1.ask.account.BENCHPAY$i}"
    resp HSET "$key:conv" v "$tag" s "$state" n 1
    resp EXPIRE "$key:conv" 3600
    resp HSET "$key:profile" billing_agreement \
      "{\"id\":\"${perms[$((i % ${#perms[@]}))]}\",\"status\":\"Chargeable\",\"environment\":\"sandbox\"}"
  done | redis-cli -p "$REDIS_PORT" --pipe >/dev/null
  node "$ROOT/tests/bench/pay_bodies.js" "$T" "$PAY_N" "$SKILL_ID" "$T/ca/signing.key"
  line=$(VX_BENCH_LIB="$ROOT/tests/bench" VX_BENCH_DIR=$T VX_BENCH_N=$PAY_N VX_BENCH_CERT_URL=$CERT_URL VX_BENCH_EXPECT="charged" \
    wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 8s -s "$ROOT/tests/bench/pay.lua" \
    "http://127.0.0.1:$VX_PORT" 2>&1 | grep '^VXBENCH' || true)
  sleep 1 # what was in flight when the load stopped settles
  n=$(curl -sS "$PS_URL/_sim/charges?state=Captured" | jq '.charges | length')
  say "  paying c=$CONNS: ${line#VXBENCH } captured=$n"
  echo "paying $CONNS $line captured=$n" >"$T/pay-result"
  stop_pid "$VX_PID"
}

say "bench: $ROUNDS rounds of ${DURATION}s at $CONNS connections, $USERS customers, $(nproc) cores"
: >"$T/results"
: >"$T/rss"
for r in $(seq 1 "$ROUNDS"); do
  say "round $r"
  start_voxcartd
  curl -s -o /dev/null "http://127.0.0.1:$VX_PORT/healthz"
  run_wrk voxcartd "$VX_PORT" 4 5 "Shall I place the order"
  run_wrk voxcartd "$VX_PORT" "$CONNS" "$DURATION" "Shall I place the order"
  echo "voxcartd $(peak_rss_kb "$VX_PID")" >>"$T/rss"
  stop_pid "$VX_PID"
  for w in 1 2; do
    start_peer "$w"
    run_wrk "node-$w" "$PEER_PORT" 4 5 "Shall I place the order"
    run_wrk "node-$w" "$PEER_PORT" "$CONNS" "$DURATION" "Shall I place the order"
    echo "node-$w $(peak_rss_kb "$PEER_PID")" >>"$T/rss"
    stop_pid "$PEER_PID"
  done
done

say "paying turn: $PAY_N customers, each says yes once"
bench_pay || echo "paying $CONNS VXBENCH rps=0 p50=0 p99=0 p999=0 errors=1 wrong=0 requests=0 captured=0" >"$T/pay-result"

# OpenSSL's RSA-2048 verifications per second on one core: the cost floor of a request.
RSA=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $(NF)}')

awk -v conns="$CONNS" -v rsa="${RSA:-0}" -v rssfile="$T/rss" '
function median(a, n,   i, j, t) {
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function val(s, k,   m) { m = s; sub(".*" k "=", "", m); sub(" .*", "", m); return m + 0 }
BEGIN {
  while ((getline line < rssfile) > 0) { split(line, f, " "); if (f[2] > rss[f[1]]) rss[f[1]] = f[2] }
}
{
  name = $1; c = $2; line = $0
  key = name SUBSEP c
  n[key]++
  rps[key, n[key]] = val(line, "rps"); p50[key, n[key]] = val(line, "p50")
  p99[key, n[key]] = val(line, "p99"); p999[key, n[key]] = val(line, "p999")
  err[key] += val(line, "errors") + val(line, "wrong")
  names[name] = 1
}
END {
  printf "\n%-10s %10s %9s %9s %9s %8s %9s %10s\n", "server", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "RSS MB", "p99@4 ms"
  order[1] = "voxcartd"; order[2] = "node-1"; order[3] = "node-2"
  for (o = 1; o <= 3; o++) {
    name = order[o]; key = name SUBSEP conns; k4 = name SUBSEP 4
    if (!(key in n)) continue
    for (i = 1; i <= n[key]; i++) { a1[i] = rps[key, i]; a2[i] = p50[key, i]; a3[i] = p99[key, i]; a4[i] = p999[key, i] }
    for (i = 1; i <= n[k4]; i++) b[i] = p99[k4, i]
    R[name] = median(a1, n[key])
    printf "%-10s %10.0f %9.2f %9.2f %9.2f %8d %9.1f %10.2f\n", name, R[name], median(a2, n[key]), median(a3, n[key]), median(a4, n[key]), err[key] + err[k4], rss[name] / 1024, median(b, n[k4])
  }
  printf "\n(medians of the rounds at %d connections; p99@4 at 4 connections; errors = non-2xx, socket errors and answers without the order summary)\n", conns
  if (R["node-1"] > 0) printf "voxcartd / node (1 process):  %.1fx requests/s\n", R["voxcartd"] / R["node-1"]
  if (R["node-2"] > 0) printf "voxcartd / node (2 processes): %.1fx requests/s\n", R["voxcartd"] / R["node-2"]
  if (rsa > 0) printf "OpenSSL RSA-2048 verify on one core: %.0f/s; voxcartd requests/s are %.0f%% of that\n", rsa, 100 * R["voxcartd"] / rsa
}' "$T/results"
awk -v pay_n="$PAY_N" -v ordering="$(awk '$1 == "voxcartd" && $2 == '"$CONNS"' {sub(/.*rps=/, ""); sub(/ .*/, ""); print}' "$T/results" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')" '
function val(s, k,   m) { m = s; sub(".*" k "=", "", m); sub(" .*", "", m); return m + 0 }
{
  printf "\npaying turn (yes -> Create Charge at voxcart-paysim, throttling off), %d connections:\n", $2
  done_n = val($0, "requests"); got = val($0, "captured")
  printf "%-10s %10.0f req/s %9.2f p50 ms %9.2f p99 ms  %d errors\n", "voxcartd", val($0, "rps"), val($0, "p50"), val($0, "p99"), val($0, "errors") + val($0, "wrong")
  if (done_n > pay_n)
    printf "the run answered %d yes turns but has %d customers: past them customers say yes again with nothing left to pay, so the figure is not one of paying turns; raise PAY_N\n", done_n, pay_n
  else
    printf "the sandbox captured %d charges for %d answered yes turns (%s)\n", got, done_n, ((got >= done_n && got <= done_n + $2) ? "one each, plus those in flight at the end" : "MISMATCH")
  if (ordering > 0) printf "paying turn / ordering turn (voxcartd, same run): %.2f\n", val($0, "rps") / ordering
}' "$T/pay-result"

# the recurring biller, after the rest has stopped (it starts its own servers)
cleanup
trap - EXIT
[ "${BILLER:-1}" = 0 ] || "$ROOT/tests/bench/biller.sh" "$BUILD"
