#!/usr/bin/env bash
# Redis Cluster for real: three masters started here. The store's integration
# programs, every fixture in tests/fixtures through voxcartd, and the lost update
# across expiry with two instances, all against the cluster; customers' keys
# spread over the masters, and each customer's keys share one slot.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/lost_update.inc.sh"
make_devca
start_cluster
check "the store's integration tests pass on the cluster" "$BUILD/it_store"
check "the store's fixture helpers pass on the cluster" "$BUILD/it_store_fixture"
start_voxcartd
OUT=$("$VOXCART" replay --dir "$CA" --url "$BASE/alexa" "$(plain_fixtures)" 2>"$T/replay.err")
RC=$?
STATUS=$RC BODY="$(tail -n 5 <<<"$OUT") $(tail -n 20 "$T/replay.err")"
check "every fixture in tests/fixtures (but paying/) passes on the cluster" [ "$RC" = 0 ]
check "... and they all ran" grep -qE '^[1-9][0-9]* passed, 0 failed$' <<<"$OUT"
check "voxcartd followed the cluster's redirects" grep -q 'cluster redirect' "$T/voxcartd.log"
used=0
for p in "${CLUSTER_PORTS[@]}"; do
  n=$(redis-cli -p "$p" dbsize)
  [ "$n" -gt 0 ] && used=$((used + 1))
done
check "the data spread over more than one master ($used of 3)" [ "$used" -ge 2 ]
kill "$VX_PID" 2>/dev/null
lost_update_scenario
finish
