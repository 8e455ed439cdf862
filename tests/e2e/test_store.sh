#!/usr/bin/env bash
# The store against a real redis-server, including Redis going down and back.
. "$(dirname "$0")/lib.sh" "$1"
start_redis
check "store integration tests pass" "$BUILD/it_store"
stop_redis
"$BUILD/it_store_down" "$T/down-checked" &
it=$!
wait_for 10 test -f "$T/down-checked"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
  --logfile "$T/redis2.log" &
PIDS+=($!)
wait "$it"; rc=$?
check "with redis down commands fail fast, and recover when it returns" [ "$rc" = 0 ]
finish
