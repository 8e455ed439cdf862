# Shared helpers for the end-to-end tests: each test sources this file, gets a
# private temporary directory, its own redis-server and voxcartd on free ports,
# and everything is stopped by the EXIT trap whatever happens.
#
# Usage in a test:  . "$(dirname "$0")/lib.sh" "$1"   (argument: the build directory)

set -u
BUILD=$(cd "${1:?usage: test.sh BUILD_DIR}" && pwd)
SRC=${VX_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VOXCART="$BUILD/voxcart"
VOXCARTD="$BUILD/voxcartd"
T=$(mktemp -d "${TMPDIR:-/tmp}/voxcart-e2e.XXXXXX")
PIDS=()
FAILS=0
CHECKS=0

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do { wait "$p"; } 2>/dev/null; done
  if [ "$FAILS" -ne 0 ] && [ -f "$T/voxcartd.log" ]; then
    echo "--- voxcartd log ---"; tail -n 60 "$T/voxcartd.log"
  fi
  [ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# A TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "no free port found" >&2; return 1
}

wait_for() { # wait_for SECONDS command...
  local n=$(( $1 * 20 )); shift
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}

start_redis() { # tests run in parallel: if another one took the port first, take another
  for _ in 1 2 3 4 5; do
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$T" --logfile "$T/redis.log" &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    if wait_for 10 redis-cli -p "$REDIS_PORT" ping && kill -0 "$REDIS_PID" 2>/dev/null &&
      grep -q "$REDIS_PORT" <(redis-cli -p "$REDIS_PORT" config get port); then
      export VOXCART_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
      return 0
    fi
  done
  echo "redis did not start"; exit 1
}

# start_cluster: a real Redis Cluster of three masters on free ports (the bus port is
# the port + 10000, so ports stay below 55536); VOXCART_REDIS_URL names one node.
start_cluster() {
  local ports=() p i
  for _ in 1 2 3 4 5; do
    ports=()
    for i in 1 2 3; do
      for _ in $(seq 1 50); do
        p=$(( 20000 + RANDOM % 30000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
          ! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 10000))") 2>/dev/null; then break; fi
      done
      ports+=("$p")
    done
    local ok=1
    for p in "${ports[@]}"; do
      mkdir -p "$T/cluster-$p"
      redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file "$T/cluster-$p/nodes.conf" --cluster-node-timeout 2000 \
        --save '' --appendonly no --dir "$T/cluster-$p" --logfile "$T/cluster-$p/redis.log" &
      PIDS+=($!)
      CLUSTER_PIDS+=($!)
    done
    for p in "${ports[@]}"; do
      wait_for 10 redis-cli -p "$p" ping || ok=0
    done
    if [ "$ok" = 1 ] && redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 \
      --cluster-yes >"$T/cluster-create.log" 2>&1 &&
      wait_for 15 bash -c "redis-cli -p ${ports[0]} cluster info | grep -q cluster_state:ok"; then
      CLUSTER_PORTS=("${ports[@]}")
      REDIS_PORT=${ports[0]}
      export VOXCART_REDIS_URL="redis://127.0.0.1:${ports[0]}/0"
      return 0
    fi
    for p in "${CLUSTER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    CLUSTER_PIDS=()
  done
  echo "redis cluster did not start"; cat "$T/cluster-create.log"; exit 1
}
CLUSTER_PIDS=()

# start_store: a single redis-server, or the cluster when VX_STORE=cluster
start_store() {
  if [ "${VX_STORE:-single}" = cluster ]; then start_cluster; else start_redis; fi
}

# rcli ARGS...: redis-cli against the store, following cluster redirects
rcli() { redis-cli -c -p "$REDIS_PORT" "$@"; }

stop_redis() {
  kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null
}

make_devca() {
  "$VOXCART" devca --dir "$T/ca" >/dev/null || { echo "devca failed"; exit 1; }
  CA="$T/ca"
}

# make_s3_cert: $T/s3.pem and $T/s3.key, a TLS certificate for s3.amazonaws.com from the
# development root, for a local server standing in for the certificate host
make_s3_cert() {
  openssl req -new -newkey rsa:2048 -nodes -keyout "$T/s3.key" -subj /CN=s3.amazonaws.com \
    -addext subjectAltName=DNS:s3.amazonaws.com -out "$T/s3.csr" 2>/dev/null
  openssl x509 -req -in "$T/s3.csr" -CA "$CA/root.pem" -CAkey "$CA/root.key" -CAcreateserial \
    -days 2 -copy_extensions copy -out "$T/s3.pem" 2>/dev/null
}

# start_www_tls DIR: a TLS server (make_s3_cert's certificate) on $S3_PORT serving the files
# under DIR, standing in for the certificate host; retried on another port if one is taken
start_www_tls() {
  for _ in 1 2 3 4 5; do
    S3_PORT=$(free_port)
    (cd "$1" && exec openssl s_server -quiet -accept "$S3_PORT" -cert "$T/s3.pem" \
      -key "$T/s3.key" -WWW >"$T/s_server.log" 2>&1) &
    S3_PID=$!
    PIDS+=("$S3_PID")
    wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$S3_PORT" && kill -0 "$S3_PID" 2>/dev/null &&
      return 0
    kill "$S3_PID" 2>/dev/null
  done
  echo "the certificate host (openssl s_server) did not start:"; cat "$T/s_server.log"; exit 1
}

# start_silent_tls: a TLS server (make_s3_cert's certificate) on $SLOW_PORT that accepts and
# never answers nor hangs up; each connection is an ACCEPT line in $T/slow.log
start_silent_tls() {
  mkfifo "$T/hold"
  exec 4<>"$T/hold" # keeps its input open, so it never answers and never hangs up
  for _ in 1 2 3 4 5; do # another test may take the port first: try a few
    SLOW_PORT=$(free_port)
    openssl s_server -accept "$SLOW_PORT" -cert "$T/s3.pem" -key "$T/s3.key" \
      <"$T/hold" >"$T/slow.log" 2>&1 &
    SLOW_PID=$!
    PIDS+=("$SLOW_PID")
    wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SLOW_PORT" && kill -0 "$SLOW_PID" 2>/dev/null &&
      return 0
  done
  echo "the silent TLS server did not start"; exit 1
}

# start_voxcartd [extra voxcartd args...]; TLS with the dev CA unless VX_PLAIN=1; with
# VX_PUBLIC=1, its own address is its public_url (the pay-link page's links).
start_voxcartd() {
  VX_PORT=$(free_port)
  export VOXCART_LISTEN_PORT=$VX_PORT
  export VOXCART_CA_FILE="$CA/root.pem"
  export VOXCART_CERT_MAP="https://s3.amazonaws.com/echo.api/echo-api-cert-dev.pem=$CA/chain.pem${EXTRA_CERT_MAP:-}"
  export VOXCART_SKILL_IDS=${VOXCART_SKILL_IDS:-amzn1.ask.skill.test}
  if [ "${VX_PLAIN:-0}" = 1 ]; then
    unset VOXCART_TLS_CERT VOXCART_TLS_KEY
    BASE="http://127.0.0.1:$VX_PORT"
  else
    export VOXCART_TLS_CERT="$CA/server.pem" VOXCART_TLS_KEY="$CA/server.key"
    BASE="https://127.0.0.1:$VX_PORT"
  fi
  for attempt in 1 2 3 4 5; do
    [ "${VX_PUBLIC:-0}" = 1 ] && export VOXCART_PUBLIC_URL=$BASE
    "$VOXCARTD" "$@" >>"$T/voxcartd.log" 2>&1 &
    VX_PID=$!
    PIDS+=("$VX_PID")
    for _ in $(seq 1 300); do
      curl -sf --cacert "$CA/root.pem" "$BASE/healthz" >/dev/null 2>&1 && return 0
      kill -0 "$VX_PID" 2>/dev/null || break # exited: the port was taken, or it refused to start
      sleep 0.05
    done
    grep -q 'cannot listen' "$T/voxcartd.log" || break
    # the port was taken by someone else in the meantime: try another
    kill "$VX_PID" 2>/dev/null
    VX_PORT=$(free_port)
    export VOXCART_LISTEN_PORT=$VX_PORT
    BASE="${BASE%:*}:$VX_PORT"
  done
  echo "voxcartd did not start"; cat "$T/voxcartd.log"; exit 1
}

# A request body from a template, with fresh IDs; prints the file name.
# make_request NAME TYPE [LOCALE] [APP_ID]  (TYPE LaunchRequest, or an intent name)
make_request() {
  local name=$1 type=$2 locale=${3:-en-US} app=${4:-amzn1.ask.skill.test} req
  local ts; ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local rid="amzn1.echo-api.request.$RANDOM$RANDOM"
  if [ "$type" = LaunchRequest ]; then
    req="{\"type\":\"LaunchRequest\",\"requestId\":\"$rid\",\"timestamp\":\"$ts\",\"locale\":\"$locale\"}"
  else
    req="{\"type\":\"IntentRequest\",\"requestId\":\"$rid\",\"timestamp\":\"$ts\",\"locale\":\"$locale\",\"intent\":{\"name\":\"$type\",\"confirmationStatus\":\"NONE\"}}"
  fi
  cat >"$T/$name.json" <<JSON
{"version":"1.0","session":{"new":true,"sessionId":"amzn1.echo-api.session.$RANDOM","application":{"applicationId":"$app"},"user":{"userId":"amzn1.ask.account.TESTUSER"}},"context":{"System":{"application":{"applicationId":"$app"},"user":{"userId":"amzn1.ask.account.TESTUSER"},"device":{"deviceId":"amzn1.ask.device.TEST"}}},"request":$req}
JSON
  echo "$T/$name.json"
}

# post BODYFILE [curl args...]: sets STATUS and BODY
post() {
  local f=$1; shift
  BODY=$(curl -s --cacert "$CA/root.pem" -o - -w '\n%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data-binary "@$f" "$@" "$BASE/alexa")
  STATUS=${BODY##*$'\n'}
  BODY=${BODY%$'\n'*}
}

# signed BODYFILE [voxcart sign args...]: sends through `voxcart sign --url`; sets STATUS and BODY
signed() {
  local f=$1; shift
  BODY=$("$VOXCART" sign --dir "$CA" --url "$BASE/alexa" "$@" "$f" 2>"$T/sign.err")
  STATUS=$(sed -n 's/^HTTP \([0-9]*\).*/\1/p' "$T/sign.err" | tail -n 1)
}

# signed_until SECONDS TEXT BODYFILE: re-sends BODYFILE (re-stamped) until the answer contains TEXT
signed_until() {
  local n=$(($1 * 10)) text=$2 f=$3
  for _ in $(seq 1 "$n"); do
    signed "$f" --restamp
    contains "$BODY" "$text" && return 0
    sleep 0.1
  done
  return 1
}

# plain_fixtures: a copy of tests/fixtures/ without paying/, paying-platform/ and subscribing/,
# whose conversations need the payment sandbox or the platform's rail (and a biller), and a
# shop of each locale's currency (test_replay_paying.sh, test_replay_paying_platform.sh and
# test_replay_subscribing.sh play them); prints its
# directory. The copy keeps the tree's layout, so reports name the same paths.
plain_fixtures() {
  [ -d "$T/fixtures" ] || { cp -r "$SRC/tests/fixtures" "$T/fixtures" &&
    rm -rf "$T/fixtures/paying" "$T/fixtures/paying-platform" "$T/fixtures/subscribing"; }
  echo "$T/fixtures"
}

check() { # check DESCRIPTION command...
  local what=$1; shift
  CHECKS=$((CHECKS + 1))
  if "$@"; then echo "ok   $what"; else echo "FAIL $what (status=${STATUS:-} body=${BODY:-})"; FAILS=$((FAILS + 1)); fi
}

contains() { case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac; }

# all_of COND -- COND ...: every command holds. check takes one command, so a check of several
# conditions names them all here (`check "x" [ a ] && [ b ]` would check only the first, the
# shell running the rest outside check). A COND may begin with "!".
all_of() {
  local args=()
  while :; do
    if [ $# -eq 0 ] || [ "$1" = -- ]; then
      if [ "${args[0]:-}" = "!" ]; then
        ! "${args[@]:1}" || return 1
      else
        "${args[@]}" || return 1
      fi
      args=()
      [ $# -eq 0 ] && return 0
    else
      args+=("$1")
    fi
    shift
  done
}

finish() {
  # stop the server the way an operator does, so LeakSanitizer looks at its exit too
  if [ -n "${VX_PID:-}" ] && kill -0 "$VX_PID" 2>/dev/null; then
    kill -TERM "$VX_PID"
    { wait "$VX_PID"; } 2>/dev/null
    local rc=$?
    check "voxcartd stopped cleanly on SIGTERM" [ "$rc" = 0 ]
  fi
  if [ -f "$T/voxcartd.log" ]; then
    check "voxcartd reported no sanitizer error" \
      bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' '$T/voxcartd.log'"
  fi
  echo "$CHECKS checks, $FAILS failed"
  [ "$FAILS" -eq 0 ]
  exit $?
}
