# Helpers for the sandbox tests (tests/e2e/test_paysim*.sh), on top of tests/e2e/lib.sh:
# start voxcart-paysim on a free port, register a merchant with a fresh RSA key, and send
# requests signed the way the provider's SDKs sign them. The signing here is written with
# the openssl command line on purpose: an implementation independent of the sandbox's C
# code, so a shared mistake cannot make both sides agree.
#
#   start_paysim [paysim args...]     sets PS_URL (http), PS_PID; extra args as given
#   make_merchant ID [KEY_ID]         key in $T/ID.key, registered with the sandbox
#   api METHOD PATH [BODY] [-H 'name: value']...   signed; sets STATUS, BODY
#   sim METHOD PATH [BODY]            the set-up interface; sets STATUS, BODY
# Signing knobs (environment, one request): PS_ALG=V1, PS_KEY_ID, PS_DATE, PS_TAMPER_BODY
# (sent instead of the signed body), PS_DROP (a signed header not sent), PS_SIGNED (the
# SignedHeaders list to claim), PS_PREFIX (/sandbox/v2 by default).

PAYSIM="$BUILD/voxcart-paysim"

start_paysim() {
  PS_LOG="$T/paysim.log"
  "$PAYSIM" "$@" >"$T/paysim.out" 2>>"$PS_LOG" &
  PS_PID=$!
  PIDS+=("$PS_PID")
  for _ in $(seq 1 200); do
    PS_URL=$(sed -n 's|^paysim: listening on \(http://[^ ]*\)$|\1|p' "$T/paysim.out" | head -n 1)
    PS_TLS_URL=$(sed -n 's|^paysim: listening on \(https://[^ ]*\)$|\1|p' "$T/paysim.out" | head -n 1)
    if [ -n "$PS_URL$PS_TLS_URL" ]; then
      PS_URL=${PS_URL:-$PS_TLS_URL}
      return 0
    fi
    kill -0 "$PS_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "voxcart-paysim did not start"; cat "$T/paysim.out" "$PS_LOG"; exit 1
}

sim() { # sim METHOD PATH [BODY]
  local m=$1 p=$2 b=${3:-}
  if [ -n "$b" ]; then
    BODY=$(curl -sS -k -o - -w '\n%{http_code}' -X "$m" -H 'content-type: application/json' \
      --data-binary "$b" "$PS_URL/_sim/$p")
  else
    BODY=$(curl -sS -k -o - -w '\n%{http_code}' -X "$m" "$PS_URL/_sim/$p")
  fi
  STATUS=${BODY##*$'\n'}
  BODY=${BODY%$'\n'*}
}

make_merchant() { # make_merchant ID [KEY_ID]
  local id=$1 kid=${2:-SANDBOX-$1}
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/$id.key" 2>/dev/null
  openssl pkey -in "$T/$id.key" -pubout -out "$T/$id.pub" 2>/dev/null
  sim POST merchants "$(jq -n --arg m "$id" --arg k "$kid" --rawfile p "$T/$id.pub" \
    '{merchantId:$m, publicKeyId:$k, publicKeyPem:$p}')"
  [ "$STATUS" = 201 ] || { echo "cannot register merchant $id: $STATUS $BODY"; exit 1; }
  MERCHANT=$id
  KEY_ID=$kid
  KEY_FILE="$T/$id.key"
}

sha256hex() { openssl dgst -sha256 -r | cut -d' ' -f1; }

# The sandbox clock (the date a client must sign with once a test has moved it).
sandbox_date() {
  local epoch
  epoch=$(curl -sS -k "$PS_URL/_sim/clock" | jq -r .epoch)
  date -u -d "@$epoch" +%Y%m%dT%H%M%SZ
}

api() { # api METHOD PATH [BODY] [-H 'name: value']...
  local m=$1 p=$2 b=${3:-}
  shift 2
  if [ "$b" = -H ]; then b=""; elif [ $# -gt 0 ]; then shift; fi
  local prefix=${PS_PREFIX:-/sandbox/v2} path query="" date alg=AMZN-PAY-RSASSA-PSS-V2 salt=32
  [ "${PS_ALG:-V2}" = V1 ] && { alg=AMZN-PAY-RSASSA-PSS; salt=20; }
  path="$prefix/$p"
  case "$path" in *\?*) query=${path#*\?}; path=${path%%\?*} ;; esac
  date=${PS_DATE:-$(sandbox_date)}
  local -a names=(accept content-type x-amz-pay-date x-amz-pay-host x-amz-pay-region)
  local -A val=([accept]=application/json [content-type]=application/json
    [x-amz-pay-date]=$date [x-amz-pay-host]=pay-api.amazon.eu [x-amz-pay-region]=eu)
  while [ $# -gt 0 ]; do
    local h=$2 n v
    n=$(tr 'A-Z' 'a-z' <<<"${h%%:*}"); v=${h#*:}; v=${v# }
    names+=("$n"); val[$n]=$v
    shift 2
  done
  local sorted signed canon="" hdrs=()
  sorted=$(printf '%s\n' "${names[@]}" | LC_ALL=C sort)
  signed=$(paste -sd';' <<<"$sorted")
  for n in $sorted; do canon+="$n:${val[$n]}"$'\n'; done
  canon="$m"$'\n'"$path"$'\n'"$query"$'\n'"$canon"$'\n'"${PS_SIGNED:-$signed}"$'\n'"$(printf '%s' "$b" | sha256hex)"
  local sts sig
  sts="$alg"$'\n'"$(printf '%s' "$canon" | sha256hex)"
  sig=$(printf '%s' "$sts" | openssl dgst -sha256 -sign "$KEY_FILE" -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:$salt -sigopt rsa_mgf1_md:sha256 | base64 -w0)
  for n in $sorted; do
    [ "$n" = "${PS_DROP:-}" ] && continue
    hdrs+=(-H "$n: ${val[$n]}")
  done
  hdrs+=(-H "authorization: $alg PublicKeyId=${PS_KEY_ID:-$KEY_ID}, SignedHeaders=${PS_SIGNED:-$signed}, Signature=$sig")
  local send=${PS_TAMPER_BODY:-$b}
  [ -n "$send" ] && hdrs+=(--data-binary "$send")
  BODY=$(curl -sS -k -o - -w '\n%{http_code}' -X "$m" "${hdrs[@]}" -H 'expect:' \
    "$PS_URL$path${query:+?$query}" 2>"$T/curl.err")
  CURL_RC=$?
  STATUS=${BODY##*$'\n'}
  BODY=${BODY%$'\n'*}
}

jqb() { jq -r "$1" <<<"$BODY"; } # a field of the last answer

finish_paysim() {
  if [ -n "${PS_PID:-}" ] && kill -0 "$PS_PID" 2>/dev/null; then
    kill -TERM "$PS_PID"
    { wait "$PS_PID"; } 2>/dev/null
    local rc=$?
    check "voxcart-paysim stopped cleanly on SIGTERM" [ "$rc" = 0 ]
  fi
  check "voxcart-paysim reported no sanitizer error" \
    bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' '$T/paysim.log'"
  if [ "$FAILS" -ne 0 ]; then echo "--- paysim log ---"; tail -n 40 "$T/paysim.log"; fi
  finish
}

# The npm packages of tests/paysim (the provider's Node SDK, puppeteer-core), installed once
# into the build directory from the pinned lock file; tests running side by side take turns.
paysim_node_deps() {
  PS_NODE="$BUILD/paysim-node"
  mkdir -p "$PS_NODE"
  cp "$SRC/tests/paysim/package.json" "$SRC/tests/paysim/package-lock.json" \
    "$SRC/tests/paysim/"*.js "$PS_NODE/"
  (
    flock 9
    if ! cmp -s "$PS_NODE/package-lock.json" "$PS_NODE/node_modules/.installed-lock" 2>/dev/null; then
      for attempt in 1 2 3; do # the registry is on the network: a passing fault is retried
        (cd "$PS_NODE" && npm ci --no-audit --no-fund >"$T/npm.log" 2>&1) &&
          cp "$PS_NODE/package-lock.json" "$PS_NODE/node_modules/.installed-lock" && break
        [ "$attempt" = 3 ] && { echo "npm ci failed:"; tail -20 "$T/npm.log"; exit 1; }
        sleep $((attempt * 5))
      done
    fi
  ) 9>"$BUILD/.paysim-node.lock" || exit 1
}
