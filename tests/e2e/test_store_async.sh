#!/usr/bin/env bash
# The workers' asynchronous Redis path: many turns in flight at once share a
# worker's connection (pipelined) and each gets its own answer and its own
# state; a Redis that stops answering costs the waiting turns an apology after
# redis.timeout_ms instead of a hang, and service comes back by itself; after
# SCRIPT FLUSH the scripts are sent again; SIGTERM while turns wait on Redis
# still answers them and exits cleanly.
. "$(dirname "$0")/lib.sh" "$1"
make_devca
start_redis
export VOXCART_THREADS=2 VOXCART_REDIS_TIMEOUT_MS=800 # room for a loaded machine; the pauses below are longer
start_voxcartd

# order BODYFILE USER PRODUCT: an OrderIntent of USER for one PRODUCT
order() {
  sed -e "s/TESTUSER/$2/g" \
    -e "s/\"name\":\"OrderIntent\",\"confirmationStatus\":\"NONE\"}/\"name\":\"OrderIntent\",\"confirmationStatus\":\"NONE\",\"slots\":{\"product\":{\"name\":\"product\",\"value\":\"$3\"}}}/" \
    "$(make_request tmpl OrderIntent)" >"$1"
}
conv_of() { redis-cli -p "$REDIS_PORT" hget "vx:{amzn1.ask.skill.test:amzn1.ask.account.$1}:conv" "$2"; }

# 1. 60 customers at once, over a few connections per worker
N=60
said() { if [ $(($1 % 2)) = 0 ]; then echo espresso; else echo "coffee beans"; fi; }
for i in $(seq 1 "$N"); do
  order "$T/o$i.json" "PAR$i" "$(said "$i")"
done
signers=()
for i in $(seq 1 "$N"); do
  "$VOXCART" sign --dir "$CA" --url "$BASE/alexa" "$T/o$i.json" >"$T/a$i.out" 2>"$T/a$i.err" &
  signers+=($!)
done
wait "${signers[@]}"
good=0
right=0
for i in $(seq 1 "$N"); do
  p=$(said "$i")
  grep -q 'Shall I place the order' "$T/a$i.out" && good=$((good + 1))
  grep -q "$p" "$T/a$i.out" && [ "$(conv_of "PAR$i" n)" = 1 ] &&
    contains "$(conv_of "PAR$i" s)" "\"${p/ /_}\"" && right=$((right + 1))
done
check "all $N concurrent turns were answered with a summary" [ "$good" = "$N" ]
check "each heard and stored its own order (one write, its product)" [ "$right" = "$N" ]

# 2. Redis stops answering (CLIENT PAUSE): an apology after the timeout, no hang
order "$T/stall.json" STALL espresso
redis-cli -p "$REDIS_PORT" client pause 3000 all >/dev/null
t0=$(date +%s%N)
signed "$T/stall.json" --restamp
ms=$((($(date +%s%N) - t0) / 1000000))
check "a turn while redis does not answer gets HTTP 200" [ "$STATUS" = 200 ]
check "... and the apology" contains "$BODY" "Sorry, I can"
check "... within about redis.timeout_ms, not the pause (took ${ms} ms)" [ "$ms" -lt 2400 ]
check "the dropped connection is logged" grep -q 'did not answer within 800 ms' "$T/voxcartd.log"
check "after the pause, turns are served again by themselves" \
  signed_until 6 'Shall I place the order' "$T/stall.json"
check "the timed-out write went with its connection: the turn that went through wrote once" \
  [ "$(conv_of STALL n)" = 1 ]

# 3. the scripts are gone (SCRIPT FLUSH): sent again, once
redis-cli -p "$REDIS_PORT" script flush >/dev/null
order "$T/flush.json" FLUSH "coffee beans"
signed "$T/flush.json" --restamp
check "after SCRIPT FLUSH a turn is answered" contains "$BODY" 'Shall I place the order'
check "... and its state is stored" [ "$(conv_of FLUSH n)" = 1 ]

# 4. SIGTERM while a turn waits on Redis: it is answered, then voxcartd exits 0
order "$T/term.json" TERM espresso
redis-cli -p "$REDIS_PORT" client pause 1500 all >/dev/null
"$VOXCART" sign --dir "$CA" --url "$BASE/alexa" --restamp "$T/term.json" >"$T/term.out" 2>"$T/term.err" &
SIGNER=$!
# SIGTERM once the turn is in and waits on the paused Redis (not before it arrived)
for _ in $(seq 1 40); do
  grep -q '^voxcart_requests_in_flight [1-9]' <(curl -s --cacert "$CA/root.pem" "$BASE/metrics") && break
  sleep 0.05
done
kill -TERM "$VX_PID"
wait "$SIGNER"
check "the turn in flight at SIGTERM got an answer" grep -q '"outputSpeech"' "$T/term.out"
{ wait "$VX_PID"; } 2>/dev/null
rc=$?
check "voxcartd exited 0 after answering it" [ "$rc" = 0 ]
finish
