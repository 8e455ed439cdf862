#!/usr/bin/env bash
# Redis down: the customer hears a short apology in their language (HTTP 200,
# session ended), /readyz is red, nothing is written; when Redis returns, the
# server serves again by itself, and the conversation from before is intact.
. "$(dirname "$0")/lib.sh" "$1"
make_devca
start_redis
start_voxcartd
launch=$(make_request launch LaunchRequest)
signed "$launch" --restamp
check "before the outage a launch is answered" contains "$BODY" 'Corner Coffee'
sed 's/"name":"OrderIntent","confirmationStatus":"NONE"}/"name":"OrderIntent","confirmationStatus":"NONE","slots":{"product":{"name":"product","value":"espresso"}}}/' \
  "$(make_request order OrderIntent)" >"$T/espresso.json"
signed "$T/espresso.json" --restamp
check "an espresso goes into the cart" contains "$BODY" 'Shall I place the order'
before=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'vx:{*' | sort | xargs -r redis-cli -p "$REDIS_PORT" dump | md5sum)

stop_redis
signed "$T/espresso.json" --restamp
check "with redis down the answer is still HTTP 200" [ "$STATUS" = 200 ]
check "the customer hears an apology" contains "$BODY" "Sorry, I can"
check "the session ends" contains "$BODY" '"shouldEndSession":true'
de=$(make_request de LaunchRequest de-DE)
signed "$de" --restamp
check "the apology is in the customer's language" contains "$BODY" 'Entschuldige'
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA/root.pem" "$BASE/readyz")
check "readyz is red" [ "$code" = 503 ]
metrics=$(curl -s --cacert "$CA/root.pem" "$BASE/metrics")
check "the outage is counted" grep -q 'voxcart_requests_total{outcome="store_unavailable"} [1-9]' <<<"$metrics"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
  --logfile "$T/redis2.log" &
PIDS+=($!)
wait_for 10 redis-cli -p "$REDIS_PORT" ping
# a fresh redis (no persistence in this test): what matters is that serving resumes by itself
check "when redis returns, requests are served again without a restart" \
  signed_until 4 'Corner Coffee' "$launch"
# every worker pings on its own every 0.5 s: all of them are green again within a few seconds
ready_on_all() {
  local i code
  for i in 1 2 3 4 5 6; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA/root.pem" "$BASE/readyz")
    [ "$code" = 200 ] || return 1
  done
}
check "readyz is green again" wait_for 5 ready_on_all
check "nothing was written while redis was down" [ -n "$before" ]
finish
