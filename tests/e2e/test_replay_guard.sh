#!/usr/bin/env bash
# The optional replay guard: the same request ID twice within the window is refused.
. "$(dirname "$0")/lib.sh" "$1"
make_devca
start_redis
VOXCART_REPLAY_GUARD=true start_voxcartd
launch=$(make_request launch LaunchRequest)
signed "$launch" --restamp
check "first delivery is answered" [ "$STATUS" = 200 ]
signed "$launch" --restamp
check "second delivery of the same request ID is refused" [ "$STATUS" = 400 ]
check "reason replay" contains "$BODY" '"code":"replay"'
other=$(make_request other LaunchRequest)
signed "$other" --restamp
check "another request ID is answered" [ "$STATUS" = 200 ]
finish
