#!/usr/bin/env bash
# Nothing blocks a worker: on a one-worker server, /healthz is answered within
# 50 ms while a signing-chain download hangs (a local TLS server that accepts and
# never answers) and while Redis does not answer (CLIENT PAUSE); /readyz turns
# red quickly while Redis is paused; a flood of unsigned requests naming new
# chain URLs costs at most a few downloads, and a failed URL is not fetched again
# at once.
. "$(dirname "$0")/lib.sh" "$1"
make_devca
start_redis

make_s3_cert
start_silent_tls
export VOXCART_FETCH_CONNECT_TO="s3.amazonaws.com:443:127.0.0.1:$SLOW_PORT"
export VOXCART_FETCH_CA_FILE="$CA/root.pem"
export VOXCART_THREADS=1 VOXCART_REDIS_TIMEOUT_MS=1000
start_voxcartd

# healthz_ms: the time one /healthz takes, in milliseconds
healthz_ms() {
  curl -s -o /dev/null -w '%{time_total}\n' --cacert "$CA/root.pem" "$BASE/healthz" |
    awk '{printf "%d\n", $1 * 1000}'
}
# probe N: N /healthz in a row; prints "median worst" in ms. A blocked worker would
# make every probe wait for the stall (2 s for a download, 1 s for Redis); the median
# is what the worker does, the worst what a shared, noisy machine adds to it.
probe() {
  local all=()
  for _ in $(seq 1 "$1"); do all+=("$(healthz_ms)"); done
  printf '%s\n' "${all[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)], v[NR]}'
}

# 1. a chain download that hangs
launch=$(make_request launch LaunchRequest)
"$VOXCART" sign --dir "$CA" --url "$BASE/alexa" --restamp \
  --cert-url https://s3.amazonaws.com/echo.api/hangs.pem "$launch" >"$T/hang.out" 2>&1 &
HANG=$!
wait_for 5 grep -q ACCEPT "$T/slow.log"
sleep 0.2
read -r med worst <<<"$(probe 10)"
check "/healthz answers within 50 ms while a chain download hangs (median ${med} ms, worst ${worst} ms)" \
  [ "$med" -lt 50 -a "$worst" -lt 500 ]
signed "$launch" --restamp
check "a signed turn with a known chain is served meanwhile" [ "$STATUS" = 200 ]
wait "$HANG"
check "the hanging download ends in a refusal" grep -q cert_fetch "$T/hang.out"

# 2. the same dead URL again: remembered, not downloaded again
accepts=$(grep -c ACCEPT "$T/slow.log")
t0=$(date +%s%N)
signed "$launch" --restamp --cert-url https://s3.amazonaws.com/echo.api/hangs.pem
ms=$((($(date +%s%N) - t0) / 1000000))
check "a failed URL is refused at once from memory (${ms} ms)" [ "$ms" -lt 500 ]
check "... without another download" [ "$(grep -c ACCEPT "$T/slow.log")" = "$accepts" ]

# 3. a flood of unsigned requests naming new URLs: a bounded number of downloads
flooders=()
for i in $(seq 1 20); do
  curl -s -o /dev/null --cacert "$CA/root.pem" -H "SignatureCertChainUrl: https://s3.amazonaws.com/echo.api/n$i.pem" \
    -H "Signature-256: AAAA" -d '{}' "$BASE/alexa" &
  flooders+=($!)
done
sleep 0.3
read -r med worst <<<"$(probe 5)"
# the flood is 20 TLS handshakes on this same single worker: /healthz waits for CPU, not I/O
check "/healthz is answered during the flood (median ${med} ms, worst ${worst} ms)" \
  [ "$med" -lt 250 -a "$worst" -lt 1000 ]
wait "${flooders[@]}"
loads=$(grep -c "verify: download of 'https://s3.amazonaws.com/echo.api/n[0-9]*.pem' failed" "$T/voxcartd.log")
refused=$(grep -c 'too many certificate chains loading at once' "$T/voxcartd.log")
check "the flood of 20 new URLs started at most 8 downloads ($loads)" [ "$loads" -le 8 ]
check "... and the others were refused at once ($refused)" [ "$refused" -ge 12 ]

# 4. Redis does not answer
redis-cli -p "$REDIS_PORT" client pause 3000 all >/dev/null
order=$(make_request tmpl OrderIntent)
"$VOXCART" sign --dir "$CA" --url "$BASE/alexa" --restamp "$order" >"$T/paused.out" 2>&1 &
PAUSED=$!
sleep 0.3
read -r med worst <<<"$(probe 10)"
check "/healthz answers within 50 ms while redis is paused (median ${med} ms, worst ${worst} ms)" \
  [ "$med" -lt 50 -a "$worst" -lt 500 ]
t0=$(date +%s%N)
code=$(curl -s -o "$T/ready.json" -w '%{http_code}' --cacert "$CA/root.pem" "$BASE/readyz")
rms=$((($(date +%s%N) - t0) / 1000000))
check "/readyz is red while redis is paused ($code)" [ "$code" = 503 ]
check "... and says so at once, not after the 1 s timeout (${rms} ms)" [ "$rms" -lt 500 ]
wait "$PAUSED"
check "the turn that waited on the paused redis got the apology" grep -q "Sorry, I can" "$T/paused.out"
sleep 3
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA/root.pem" "$BASE/readyz")
check "/readyz is green again after the pause" [ "$code" = 200 ]
finish
